"""The JupyterHub service's download guard without a Hub: what ``Egress.check`` refuses before a
job starts, and the process-wide confinement that refuses at connection time, redirects included."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from ddas_server.service.egress import Egress

from ddas import http_client, transfer
from ddas.netpolicy import BlockedAddressError
from tests.fixtures.net_servers import Redirector


@pytest.fixture
def confined() -> Iterator[Egress]:
    """This process confined as the service confines itself (127.0.0.1 opened), then released."""
    egress = Egress.configure(["127.0.0.1/32"], {"http", "https", "s3"})
    http_client.confine(egress.policy)
    try:
        yield egress
    finally:
        http_client.confine(None)


def test_endpoints_in_storage_options_are_checked_like_hosts(confined: Egress) -> None:
    confined.check("s3://bucket/key.nc", {"client_kwargs": {"endpoint_url": "http://127.0.0.1:9"}})
    for options in (
        {"client_kwargs": {"endpoint_url": "http://169.254.169.254/"}},
        {"endpoint_url": "http://127.0.0.2:9000"},
        {"client_kwargs": {"endpoint_url": "10.0.0.5:9000"}},
    ):
        with pytest.raises(BlockedAddressError, match="does not contact"):
            confined.check("s3://bucket/key.nc", options)
    with pytest.raises(BlockedAddressError, match="fetch_schemes"):
        confined.check("gs://bucket/key.nc")


def test_a_confined_process_refuses_the_redirect_hop_and_never_reaches_the_target(
    confined: Egress, http_server: Any
) -> None:
    http_server.add("inner/secret.nc", b"internal only")
    hop = Redirector(f"http://127.0.0.2:{http_server.port}/inner/secret.nc", host="127.0.0.1")
    try:
        with pytest.raises(BlockedAddressError, match=r"127\.0\.0\.2.*fetch_allow_networks"):
            transfer.probe(hop.url("x.nc"))
        assert hop.hits == 1  # the allowed first hop was asked
    finally:
        hop.close()
    assert http_server.count(path="inner/secret.nc") == 0
    http_client.confine(None)  # the control: unconfined, the same probe gets through
    assert transfer.probe(http_server.url("inner/secret.nc")).validators.size == len(
        b"internal only"
    )
