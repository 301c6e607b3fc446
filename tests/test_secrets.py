"""Credentials in a URL reach nothing: not the registry, an event, the CLI, an alert or a log line.

A URL carrying more than forty real-world credential parameters (presigned S3 and GCS, CloudFront,
Azure SAS, Alibaba OSS, API keys, OAuth and GitLab tokens, session ids) and a ``user:password`` goes
through real fetches from our HTTP server — a miss, a hit, a failure — with every logger at DEBUG.
Then the database (every row of every table; on SQLite also the raw bytes of the file and its WAL),
the CLI's output, the alert and the captured log are grepped for each secret value. Parameters that
pick the dataset (``version``, ``file``, ``id``, ``format``, ...) must survive into the registry key.
"""

from __future__ import annotations

import logging
import re
import traceback
from pathlib import Path

import pytest
from click.testing import CliRunner

import ddas
from ddas.api import fetch_result
from ddas.cli import main
from ddas.errors import DDASError, RemoteError
from ddas.identity import normalize_url
from ddas.registry import Registry
from ddas.secrets import MASK, is_secret_param, scrub_text
from tests.fixtures.http_server import CountingServer
from tests.test_registry_secrets import every_value

#: Names as real services spell them, grouped by who uses them.
REAL_WORLD_SECRETS = [
    # AWS SigV4 presigned URLs (S3), SigV2, CloudFront signed URLs
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Date",
    "X-Amz-Expires",
    "X-Amz-SignedHeaders",
    "X-Amz-Signature",
    "X-Amz-Security-Token",
    "AWSAccessKeyId",
    "Signature",
    "Expires",
    "Policy",
    "Key-Pair-Id",
    # Google Cloud Storage V4 and V2 signed URLs, Google APIs
    "X-Goog-Algorithm",
    "X-Goog-Credential",
    "X-Goog-Signature",
    "GoogleAccessId",
    "key",
    # Azure SAS
    "sv",
    "sig",
    "se",
    "sp",
    "sr",
    "skoid",
    # Alibaba OSS
    "OSSAccessKeyId",
    "x-oss-signature",
    # API keys (data portals, Azure API management, CKAN, Copernicus, NASA)
    "api_key",
    "apikey",
    "api-key",
    "apiKey",
    "access_key",
    "subscription-key",
    "Ocp-Apim-Subscription-Key",
    # tokens: OAuth, GitLab, Dropbox, Hugging Face, JWT, CSRF
    "token",
    "access_token",
    "private_token",
    "auth_token",
    "authToken",
    "id_token",
    "refresh_token",
    "jwt",
    "csrf_token",
    "_xsrf",
    "oauth_signature",
    # passwords, secrets, sessions, auth
    "password",
    "passwd",
    "pwd",
    "secret",
    "client_secret",
    "credential",
    "session",
    "sessionid",
    "JSESSIONID",
    "PHPSESSID",
    "auth",
    "code",
]
#: Parameters that pick *which* dataset: stripping them would make two datasets one.
DATASET_PARAMS = {
    "version": "3",
    "versionId": "v3abc",
    "file": "era5_2020.nc",
    "id": "7421",
    "format": "netcdf",
    "generation": "1700000000",
    "alt": "media",
    "keyword": "temperature",
    "author": "smith",
    "dataset": "reanalysis",
    "variable": "t2m",
    "year": "2020",
    "download": "1",
    "monkeypox": "no",
    "passes": "12",
}
PASSWORD = "UsErPaSsWoRd"
ADMIN_SECRETS = {"labticket": "LaBtIcKeT01", "grant-id": "GrAnTiD02"}  # via DDAS_SECRET_PARAMS


def secret_value(i: int) -> str:
    return f"SeKrIt{i:02d}Zx"


def secret_url(server: CountingServer, path: str) -> str:
    """A URL on our server with every credential above, an admin's own, and userinfo."""
    plain = server.add(path, b"t2m,2020\n" * 5000) if path else server.url("gone/era5.nc")
    pairs = [f"{name}={secret_value(i)}" for i, name in enumerate(REAL_WORLD_SECRETS)]
    pairs += [f"{k}={v}" for k, v in ADMIN_SECRETS.items()]
    pairs += [f"{k}={v}" for k, v in DATASET_PARAMS.items()]
    with_user = plain.replace("http://", f"http://scientist:{PASSWORD}@")
    return f"{with_user}?{'&'.join(pairs)}"


def all_secrets() -> list[str]:
    values = [secret_value(i) for i in range(len(REAL_WORLD_SECRETS))]
    return [*values, *ADMIN_SECRETS.values(), PASSWORD]


def test_each_real_world_credential_name_is_secret_and_dataset_names_are_not() -> None:
    assert len(REAL_WORLD_SECRETS) >= 30
    for name in REAL_WORLD_SECRETS:
        for spelling in (name, name.upper(), name.lower()):
            assert is_secret_param(spelling), spelling
    for name in DATASET_PARAMS:
        assert not is_secret_param(name), name
    assert not is_secret_param("labticket"), "not secret until the admin says so"


def test_the_admin_adds_names_and_patterns(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DDAS_SECRET_PARAMS", " LabTicket , grant-*,")
    assert is_secret_param("labticket") and is_secret_param("Grant-ID")
    assert not is_secret_param("grantee")


@pytest.fixture
def everything_at_debug(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    """Every logger at DEBUG (urllib3 prints each request line there)."""
    caplog.set_level(logging.DEBUG)
    return caplog


def test_no_credential_of_a_real_fetch_reaches_registry_cli_alert_or_logs(
    ddas_env: dict[str, str],
    registry: Registry,
    http_server: CountingServer,
    everything_at_debug: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DDAS_SECRET_PARAMS", "labticket,grant-*")
    url = secret_url(http_server, "secrets/era5_2020.nc")
    runner = CliRunner()
    first = runner.invoke(main, ["fetch", url, "--json"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(main, ["fetch", url])  # a hit: the alert line on stderr
    assert second.exit_code == 0 and "already has it" in second.stderr
    missing = runner.invoke(main, ["fetch", secret_url(http_server, ""), "--json"])
    assert missing.exit_code == 3 and "404" in missing.stderr
    found = runner.invoke(main, ["find", url, "--json"])
    assert found.exit_code == 0 and "era5_2020.nc" in found.stdout
    hit = fetch_result(url, quiet=True)
    with pytest.raises(RemoteError) as failure:
        fetch_result(secret_url(http_server, ""))
    assert http_server.count("GET", "secrets/era5_2020.nc") == 1, "one download, then hits"

    source = normalize_url(url).url
    for name, value in DATASET_PARAMS.items():
        assert f"{name}={value}" in source, f"{name} picks the dataset: it must stay"
    cli = "\n".join(r.stdout + r.stderr for r in (first, second, missing, found))
    assert source in first.stdout, "--json names the source"
    assert hit.alert is not None
    alert = str(hit.alert) + hit.alert._repr_html_()
    logs = everything_at_debug.text
    assert '"GET /secrets/era5_2020.nc?' in logs and MASK in logs, "DEBUG request lines captured"
    stored = "\n".join(every_value(registry))
    assert source in stored and "passes=12" in stored
    shown = {"registry": stored, "cli": cli, "alert": alert, "error": str(failure.value)}
    for where, text in {**shown, "logs": logs}.items():
        for secret in all_secrets():
            assert secret not in text, f"{secret} in the {where}"
    for where, text in shown.items():
        assert "scientist" not in text, f"userinfo in the {where}"
    if registry.engine.dialect.name == "sqlite":
        db = Path(registry.engine.url.database or "")
        raw = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
        assert source.encode() in raw
        for secret in all_secrets():
            assert secret.encode() not in raw, f"{secret} in the SQLite files"


@pytest.mark.parametrize(
    ("line", "kept", "gone"),
    [
        (  # tornado's access line: the lookup's url parameter is itself an encoded presigned URL
            "404 GET /ddas/api/lookup?url=https%3A%2F%2Fbob%3APw0rdX%40b.s3.amazonaws.com%2Fa.nc"
            "%3FX-Amz-Signature%3DSiGvAl%26versionId%3D3 (alice@127.0.0.1) 2.10ms",
            ["/ddas/api/lookup?url=", "b.s3.amazonaws.com", "versionId", "(alice@127.0.0.1)"],
            ["Pw0rdX", "SiGvAl", "bob"],
        ),
        (  # urllib3's DEBUG request line
            'http://127.0.0.1:8080 "GET /f.nc?private_token=GlPaT&id=4 HTTP/1.1" 200 10',
            ["/f.nc?private_token=[secret]&id=4", "HTTP/1.1"],
            ["GlPaT"],
        ),
        (  # an exception text: a raw '/' in the password, a token in the fragment
            "cannot reach https://u:pa/ss@h.org/x.nc#access_token=FrAgTok: ConnectionError",
            ["https://h.org/x.nc#access_token=[secret]", "ConnectionError"],
            ["pa/ss", "FrAgTok"],
        ),
        (  # a database URL in a log line (SQLAlchemy's own repr hides only the password)
            "registry postgresql+psycopg://ddas:DbPw@db.example.org/ddas?sslmode=require",
            ["postgresql+psycopg://db.example.org/ddas?sslmode=require"],
            ["DbPw", "ddas:"],
        ),
    ],
)
def test_log_text_keeps_its_shape_and_loses_its_secrets(
    line: str, kept: list[str], gone: list[str]
) -> None:
    scrubbed = scrub_text(line)
    for part in kept:
        assert part in scrubbed, (part, scrubbed)
    for part in gone:
        assert part not in scrubbed, (part, scrubbed)
    assert scrub_text("nothing to see here: 3 files") == "nothing to see here: 3 files"


def test_an_error_quoting_a_library_message_shows_no_secret() -> None:
    """An SSL or connection error's text holds the request target; ours quote it when it helps."""
    wrapped = "HTTPSConnectionPool(host='h.org', port=443): Max retries exceeded with url: "
    error = RemoteError(f"cannot reach https://u:PaSs@h.org/x.nc: {wrapped}/x.nc?apiKey=KeY1")
    shown = traceback.format_exception_only(error)
    for text in (
        str(error),
        repr(error),
        f"{error}",
        *shown,
        repr(DDASError(f"{wrapped}?sig=KeY1")),
    ):
        assert "KeY1" not in text and "PaSs" not in text, text
    assert "https://h.org/x.nc" in str(error) and "/x.nc?apiKey=[secret]" in str(error)


def test_ddas_logs_only_on_loggers_the_filter_is_on() -> None:
    """A logger's filter does not see its children's records: a ``getLogger(__name__)`` in a
    ddas module would log URLs unscrubbed. The library logs on ``"ddas"`` (filtered at import)."""
    package = Path(ddas.__file__).parent
    calls = {
        f"{path.relative_to(package)}: {call}"
        for path in package.rglob("*.py")
        if path.name != "secrets.py"  # the filter's own installer
        for call in re.findall(r"getLogger\(([^)]*)\)", path.read_text())
    }
    assert calls and all(call.endswith(': "ddas"') for call in calls), sorted(calls)
    assert logging.getLogger("ddas").filters, "import ddas installs the filter"
