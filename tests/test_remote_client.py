"""A kernel pointed at the DDAS JupyterHub service but not set up for it gets one clear error.

No Hub is needed to show these: the messages come before (or instead of) any answer from one.
"""

from __future__ import annotations

import socket

import pytest

import ddas
from ddas import config
from ddas.errors import NotAllowedError, ServiceError, ServiceRegistryError


@pytest.fixture
def hub_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv("DDAS_REGISTRY", "hub://ddas")
    for name in ("JUPYTERHUB_API_TOKEN", "JPY_API_TOKEN", "JUPYTERHUB_API_URL", "DDAS_SERVICE_URL"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when we return: nobody listens there


@pytest.mark.parametrize(
    ("value", "service"),
    [
        ("hub://ddas", True),
        ("https://hub.example.org/services/ddas", True),
        ("postgresql://ddas@db/ddas", False),
        ("/srv/ddas/registry.db", False),
        ("sqlite:///x.db", False),
    ],
)
def test_which_registry_settings_name_the_service(value: str, service: bool) -> None:
    assert (config.registry_service(value) is not None) is service


def test_no_hub_token_says_where_to_get_one(hub_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(NotAllowedError, match="JUPYTERHUB_API_TOKEN is not set"):
        ddas.fetch("https://data.example.org/x.nc")


def test_hub_scheme_outside_a_hub_says_what_to_set(hub_env: pytest.MonkeyPatch) -> None:
    hub_env.setenv("JUPYTERHUB_API_TOKEN", "t0ken")
    with pytest.raises(ServiceError, match="JUPYTERHUB_API_URL is not set"):
        ddas.lookup("https://data.example.org/x.nc")


def test_an_unreachable_service_is_a_typed_error_without_the_token(
    hub_env: pytest.MonkeyPatch,
) -> None:
    hub_env.setenv("JUPYTERHUB_API_TOKEN", "t0ken-s3cr3t")
    hub_env.setenv("DDAS_SERVICE_URL", f"http://127.0.0.1:{closed_port()}/services/ddas")
    with pytest.raises(ServiceError, match="cannot reach the DDAS service") as caught:
        ddas.forget(1)
    assert "t0ken-s3cr3t" not in str(caught.value)


def test_the_library_has_no_database_to_open_in_a_hub_kernel(hub_env: pytest.MonkeyPatch) -> None:
    with pytest.raises(ServiceRegistryError, match="only reachable through it"):
        ddas.Registry()


def test_a_local_path_is_handed_back_without_asking_the_service(
    hub_env: pytest.MonkeyPatch, tmp_path
) -> None:
    data = tmp_path / "mine.csv"
    data.write_text("a,b\n1,2\n")
    assert ddas.fetch(str(data)) == data  # no token, no Hub: a local path needs neither
