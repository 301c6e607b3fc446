"""The admin guide's "DDAS on JupyterHub" is what the Hub tests run: its config and settings tables."""

from __future__ import annotations

import ast
import re
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "admin-guide.md"


def guide_section() -> str:
    text = GUIDE.read_text()
    return text[text.index("## DDAS on JupyterHub") : text.index("## Scheduling scans")]


def test_the_admin_guides_hub_config_is_the_one_the_tests_run() -> None:
    from traitlets.config import Config

    from tests.fixtures.hub import MEMBER_SCOPES, SERVER_TOKEN_SCOPES

    block = guide_section().split("```python\n", 1)[1].split("```", 1)[0]
    c = Config()
    exec(compile(block, str(GUIDE), "exec"), {"c": c})
    (role,) = c.JupyterHub.load_roles
    assert role["scopes"] == MEMBER_SCOPES and role["groups"] == ["ddas"]
    assert c.Spawner.server_token_scopes == SERVER_TOKEN_SCOPES
    assert c.Spawner.environment["DDAS_REGISTRY"] == "hub://ddas"
    (service,) = c.JupyterHub.services
    assert service["command"][0] == "ddas-service" and service["oauth_no_confirm"] is True
    assert {a.split("=")[0] for a in service["command"][1:]} == {"--registry", "--store"}


def test_every_documented_service_setting_is_a_traitlet_with_that_default() -> None:
    from ddas_server.service.app import DDASService

    traits = DDASService.class_traits(config=True)
    rows = re.findall(r"^\| `c\.DDASService\.([a-z_]+)` \| ([^|]+) \|", guide_section(), re.M)
    assert len(rows) >= 5
    for name, default in rows:
        assert name in traits, name
        try:
            value = ast.literal_eval(default.strip().strip("`"))
        except (ValueError, SyntaxError):
            continue  # "JUPYTERHUB_SERVICE_URL", read from the environment
        assert traits[name].default() == value, name
    assert set(DDASService.aliases) >= {"registry", "store"}
