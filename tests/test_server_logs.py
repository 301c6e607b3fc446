"""Nothing secret in the server log: lookups of presigned and ``user:password`` URLs, at INFO and DEBUG.

A real jupyter-server with ``ddas_server`` writes its log (its own, tornado's, and the root logger's:
urllib3, fsspec, ddas) to a file. Lookups
that succeed, that fail at the remote, that are refused as malformed and that come without
credentials all put the request line into that log; no credential of the URL may be in it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest
from traitlets.config import Config

from ddas.secrets import MASK
from tests.fixtures.http_server import CountingServer

SECRETS = ["PaSsWoRd9", "SiGnAtUrE0123", "AKIAEXAMPLEKEY", "SeSsToKeN77", "PrIvAtE55"]
QUERY = (
    "?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAEXAMPLEKEY%2F20240101%2Fs3"
    "&X-Amz-Security-Token=SeSsToKeN77&X-Amz-Signature=SiGnAtUrE0123&private_token=PrIvAtE55"
    "&versionId=3"
)


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    return ddas_server_config


@pytest.fixture(params=["INFO", "DEBUG"])
def log_level(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def server_log(
    ddas_api: Any, tmp_path: Path, log_level: str, caplog: pytest.LogCaptureFixture
) -> Iterator[Path]:
    """The running server's log, written to a file at ``log_level``.

    pytest-jupyter reroutes the server's own handlers into a buffer, so the file handler is added
    here, on the root logger and on the app loggers that do not propagate to it. It gets no filter
    of its own: what keeps secrets out of it are the filters on the loggers that make the records.
    """
    path = tmp_path / "jupyter-server.log"
    handler = logging.FileHandler(path)
    handler.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
    names = ["", "ServerApp", "DDASExtension", "tornado"]
    for name in names:
        caplog.set_level(log_level, logger=name)
    targets = [logging.getLogger(n) for n in names[:3]]
    targets = [t for t in targets if t is logging.getLogger() or not t.propagate]
    for target in targets:
        target.addHandler(handler)
    yield path
    for target in targets:
        target.removeHandler(handler)
    handler.close()


def with_password(url: str) -> str:
    return url.replace("http://", "http://alice:PaSsWoRd9@")


@pytest.mark.parametrize("registry_url", ["sqlite"], indirect=True)
async def test_lookups_of_presigned_and_password_urls_leave_no_secret_in_the_log(
    server_log: Path, ddas_api: Any, http_server: CountingServer, log_level: str
) -> None:
    present = with_password(http_server.add("logs/era5.nc", b"x" * 1000)) + QUERY
    absent = with_password(http_server.url("logs/missing.nc")) + QUERY
    malformed = f"http://alice:PaSs/WoRd9@127.0.0.1:{http_server.port}/logs/era5.nc{QUERY}"
    answers = [
        await ddas_api("lookup", params={"url": present}),
        await ddas_api("lookup", params={"url": absent}),
        await ddas_api("lookup", params={"url": malformed}),
        await ddas_api("lookup", params={"url": present}, user=None),
    ]
    assert [code for code, _ in answers] == [200, 200, 400, 403]
    assert answers[0][1]["url"].endswith("/logs/era5.nc?versionId=3")
    replies = repr([body for _, body in answers])

    text = server_log.read_text()
    assert text.count("/ddas/api/lookup?url=") >= (4 if log_level == "DEBUG" else 2), text
    assert MASK in text and "versionId" in text, "the lines are there, with their secrets masked"
    if log_level == "DEBUG":
        assert '"HEAD /logs/era5.nc?' in text, "urllib3's probe request line is in the log"
    decoded = unquote(unquote(text))
    for secret in [*SECRETS, "WoRd9"]:
        assert secret not in decoded, f"{secret} in the server log"
        assert secret not in replies, f"{secret} in a reply"
