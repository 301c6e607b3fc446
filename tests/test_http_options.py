"""HTTP as an institution needs it: tokens, passwords, ~/.netrc, its own CA, timeouts."""

from __future__ import annotations

import base64
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

import ddas
from ddas.registry import Registry
from tests.fixtures.http_server import CountingServer

CSV = b"station,t2m\na,1.5\nb,2.5\n"


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_a_bearer_token_goes_as_a_header_and_never_into_the_registry(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("private/t.csv", CSV, require_auth="Bearer s3cr3t-T0KEN")
    with pytest.raises(ddas.RemoteError, match=r"401 .*credentials"):
        ddas.fetch(url, progress=False)
    path = ddas.fetch(url, progress=False, storage_options={"token": "s3cr3t-T0KEN"})
    assert path.read_bytes() == CSV
    headers = {"headers": {"Authorization": "Bearer s3cr3t-T0KEN"}}
    http_server.add("private/u.csv", CSV + b"c,3\n", require_auth="Bearer s3cr3t-T0KEN")
    assert ddas.fetch(http_server.url("private/u.csv"), progress=False, storage_options=headers)
    rows = Registry().search().items
    assert rows and "s3cr3t" not in repr(rows) and "s3cr3t" not in repr(Registry().events())


def test_basic_auth_and_netrc(
    ddas_env: dict[str, str],
    http_server: CountingServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = http_server.add("lab/obs.csv", CSV, require_auth=_basic("bob", "pa55"))
    path = ddas.fetch(url, progress=False, storage_options={"auth": ("bob", "pa55")})
    assert path.read_bytes() == CSV
    netrc = tmp_path / "home" / ".netrc"
    netrc.parent.mkdir()
    netrc.write_text("machine 127.0.0.1 login carol password w0rd\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("HOME", str(netrc.parent))
    other = http_server.add("lab/other.csv", CSV + b"x,9\n", require_auth=_basic("carol", "w0rd"))
    assert ddas.fetch(other, progress=False).read_bytes() == CSV + b"x,9\n"


def test_headers_reach_the_download_through_the_ddas_protocol(
    ddas_env: dict[str, str], http_server: CountingServer
) -> None:
    url = http_server.add("p/table.csv", CSV, require_auth="Bearer abc")
    options = {"http": {"headers": {"Authorization": "Bearer abc"}}}
    frame = pd.read_csv(f"ddas::{url}", storage_options=options)
    assert list(frame["station"]) == ["a", "b"]
    assert Registry().copies_for_url(url)


def test_a_read_timeout_applies(ddas_env: dict[str, str], http_server: CountingServer) -> None:
    url = http_server.add("slow/one-byte-a-second.bin", b"x" * 50, drip=1.0)
    with pytest.raises(ddas.RemoteError, match="after 0 retries"):
        ddas.fetch(url, progress=False, retries=0, storage_options={"timeout": (5, 0.2)})


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """An institution's own CA and a server certificate for 127.0.0.1 it signed (openssl CLI)."""
    d = tmp_path_factory.mktemp("tls")

    def run(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    key = ["-newkey", "rsa:2048", "-nodes", "-days", "2"]
    run("req", "-x509", *key, "-keyout", "ca.key", "-out", "ca.pem", "-subj", "/CN=DDAS Test CA")
    (d / "ext.cnf").write_text("subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\n")
    run("req", *key[:3], "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1")
    run(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    )
    return {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}


@pytest.fixture
def https_server(tls_files: dict[str, Path]) -> Iterator[CountingServer]:
    server = CountingServer(tls=(tls_files["cert"], tls_files["key"]))
    yield server
    server.close()


def test_an_unknown_ca_is_named_with_the_two_ways_to_trust_it(
    ddas_env: dict[str, str],
    https_server: CountingServer,
    tls_files: dict[str, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    url = https_server.add("secure/data.csv", CSV)
    with pytest.raises(ddas.CertificateError) as err:
        ddas.fetch(url, progress=False)
    message = str(err.value)
    assert "unable to get local issuer certificate" in message
    assert "storage_options={'verify'" in message and "DDAS_CA_BUNDLE" in message
    ca = str(tls_files["ca"])
    assert ddas.fetch(url, progress=False, storage_options={"verify": ca}).read_bytes() == CSV
    second = https_server.add("secure/more.csv", CSV * 2)
    monkeypatch.setenv("DDAS_CA_BUNDLE", ca)
    assert ddas.fetch(second, progress=False).read_bytes() == CSV * 2


def test_the_user_guide_documents_every_download_setting_with_its_default() -> None:
    import re
    from dataclasses import fields

    from ddas.config import SETTING_VARIABLES, DownloadSettings

    guide = (Path(__file__).resolve().parents[1] / "docs" / "user-guide.md").read_text()
    for f in fields(DownloadSettings):
        variable = SETTING_VARIABLES[f.name]
        row = re.search(
            rf"^\| `{f.name}` \| `{variable}` \|[^|]*\| `?([^|`]+)`? \|", guide, re.MULTILINE
        )
        assert row, f"{f.name} / {variable} is not in the user guide's settings table"
        assert row.group(1).strip() == ("—" if f.default is None else str(f.default)), f.name
