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


def test_the_service_serves_exactly_the_two_openapi_files() -> None:
    """Every route of the service is documented: the extension's API plus the service's own."""
    import yaml
    from ddas_server.service.auth import HubServiceMixin
    from ddas_server.service.routes import service_routes

    server = Path(__file__).resolve().parents[1] / "jupyter_server_ext" / "ddas_server"
    documented = set()
    for spec in (server / "openapi.yaml", server / "service" / "openapi.yaml"):
        for path, ops in yaml.safe_load(spec.read_text())["paths"].items():
            documented |= {(re.sub(r"\{[^}]+\}", "([^/]+)", path), m.upper()) for m in ops}
    prefix = "/services/ddas/ddas/api"
    served = {
        (pattern.removeprefix(prefix), method)
        for pattern, handler in service_routes("/services/ddas/")
        if pattern.startswith(prefix)
        and not pattern.endswith("(.*)")
        and issubclass(handler, HubServiceMixin)
        for method in handler.allowed_methods()
        if method != "OPTIONS"
    }
    assert served == documented
