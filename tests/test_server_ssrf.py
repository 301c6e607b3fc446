"""The server's probe goes only where its users could not harm it: no loopback, private, link-local,
or metadata addresses (after DNS and after every redirect), and never for a cross-site navigation."""

from __future__ import annotations

import ipaddress
from http.cookies import SimpleCookie

import pytest
from traitlets.config import Config

from ddas.netpolicy import AddressPolicy, BlockedAddressError, embedded_ipv4
from tests.fixtures.net_servers import Redirector

METADATA_URLS = [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://metadata.google.internal/computeMetadata/v1/instance/",
    "http://METADATA.google.internal./computeMetadata/v1/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
]


@pytest.fixture
def jp_server_config(ddas_server_config: Config) -> Config:
    """The server as shipped: no network allowed beyond the public internet."""
    ddas_server_config.DDASExtension.lookup_probe_allow_networks = []
    return ddas_server_config


@pytest.fixture
def recorder(http_server):
    """A loopback service the probe must never reach (it records every request it gets)."""
    http_server.add("secret/admin", b"internal only")
    return http_server


def internal_spellings(port: int) -> list[str]:
    """One loopback service, spelled the ways an attacker would try."""
    return [
        f"http://127.0.0.1:{port}/secret/admin",
        f"http://localhost:{port}/secret/admin",
        f"http://[::ffff:127.0.0.1]:{port}/secret/admin",
        f"http://2130706433:{port}/secret/admin",  # 127.0.0.1 as one decimal number
        f"http://0x7f.1:{port}/secret/admin",
        f"http://127.1:{port}/secret/admin",
    ]


async def test_the_probe_never_reaches_a_loopback_service(ddas_api, registry, recorder):
    for url in internal_spellings(recorder.port):
        code, reply = await ddas_api("lookup", params={"url": url}, user="bob")
        assert code == 200 and reply["probed"] is False and reply["status"] == "miss", url
        assert "does not contact" in reply["probe_error"], (url, reply)
        assert "lookup_probe_allow_networks" in reply["probe_error"]
    assert recorder.count() == 0


async def test_a_redirector_on_an_internal_address_is_not_even_asked(ddas_api, registry, recorder):
    redirector = Redirector(recorder.url("secret/admin"), host="127.0.0.2")
    try:
        code, reply = await ddas_api("lookup", params={"url": redirector.url("x.nc")})
    finally:
        redirector.close()
    assert code == 200 and reply["probed"] is False and "loopback" in reply["probe_error"]
    assert redirector.hits == 0 and recorder.count() == 0


@pytest.mark.parametrize("url", METADATA_URLS)
async def test_metadata_services_are_refused(ddas_api, registry, recorder, url):
    code, reply = await ddas_api("lookup", params={"url": url})
    assert code == 200 and reply["probed"] is False
    assert "metadata" in reply["probe_error"]
    assert recorder.count() == 0


class TestAnAdminOpenedOneNetwork:
    @pytest.fixture
    def jp_server_config(self, ddas_server_config: Config) -> Config:
        ddas_server_config.DDASExtension.lookup_probe_allow_networks = ["127.0.0.2/32"]
        return ddas_server_config

    async def test_a_redirect_out_of_it_is_refused(self, ddas_api, registry, recorder):
        redirector = Redirector(recorder.url("secret/admin"), host="127.0.0.2")
        try:
            code, reply = await ddas_api("lookup", params={"url": redirector.url("x.nc")})
        finally:
            redirector.close()
        assert code == 200 and reply["probed"] is False
        assert "loopback" in reply["probe_error"] and "127.0.0.1" in reply["probe_error"]
        assert redirector.hits == 1 and recorder.count() == 0

    async def test_inside_it_the_probe_works(self, ddas_api, registry, recorder):
        redirector = Redirector("http://127.0.0.2:1/never", host="127.0.0.2")
        try:
            code, reply = await ddas_api("lookup", params={"url": redirector.url("x.nc")})
        finally:
            redirector.close()
        # asked, redirected within the allowed network, and the (closed) port there was tried
        assert code == 200 and redirector.hits == 1 and "cannot reach" in reply["probe_error"]


class TestACrossSiteNavigation:
    """Cookie login (a browser): probing needs the XSRF token that only JupyterLab's pages have."""

    @pytest.fixture
    def jp_server_config(self, ddas_server_config: Config) -> Config:
        del ddas_server_config.ServerApp["identity_provider_class"]
        ddas_server_config.DDASExtension.lookup_probe_allow_networks = []
        return ddas_server_config

    async def _login_cookie(self, jp_fetch, jp_serverapp) -> str:
        token = jp_serverapp.identity_provider.token
        response = await jp_fetch("api", "status", params={"token": token})
        jar = SimpleCookie()
        for header in response.headers.get_list("Set-Cookie"):
            jar.load(header)
        assert jar, "jupyter-server set no login cookie"
        return "; ".join(f"{k}={m.value}" for k, m in jar.items())

    async def test_probing_needs_the_xsrf_token(self, jp_fetch, jp_serverapp, registry, recorder):
        cookie = await self._login_cookie(jp_fetch, jp_serverapp)
        url = recorder.url("secret/admin")

        async def lookup(headers: dict[str, str], probe: str = "1"):
            response = await jp_fetch(
                "ddas",
                "api",
                "lookup",
                params={"url": url, "probe": probe},
                headers={"Authorization": "", **headers},
                raise_error=False,
            )
            return response.code, response.body

        # what a link on another site makes the browser send: the cookie, a foreign Referer
        code, body = await lookup({"Cookie": cookie, "Referer": "https://evil.example/"})
        assert code == 403 and b"_xsrf" in body
        code, body = await lookup({"Cookie": cookie})
        assert code == 403
        # nor is a same-site Referer enough (jupyter-server accepts it for GETs): any page the
        # server serves, a notebook's HTML output included, could send that
        base = f"http://{jp_serverapp.ip}:{jp_serverapp.port}/"
        code, body = await lookup({"Cookie": cookie, "Referer": base})
        assert code == 403
        # reading the registry alone stays a plain GET
        code, _ = await lookup({"Cookie": cookie}, probe="0")
        assert code == 200
        # JupyterLab's own request: the _xsrf cookie echoed in X-XSRFToken
        xsrf = "2|abcdef01|0123456789abcdef0123456789abcdef|1700000000"
        code, body = await lookup({"Cookie": f"{cookie}; _xsrf={xsrf}", "X-XSRFToken": xsrf})
        assert code == 200 and b"does not contact" in body  # probed, and refused: loopback
        assert recorder.count() == 0


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.1", "private"),
        ("172.16.5.4", "private"),
        ("100.64.0.1", "public"),
        ("169.254.169.254", "metadata"),
        ("169.254.1.1", "link-local"),
        ("fe80::1", "link-local"),
        ("fd00:ec2::254", "metadata"),
        ("fc00::1", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "metadata"),
        ("::ffff:10.0.0.1", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("::ffff:8.8.8.8", None),
    ],
)
def test_the_address_policy(address, refused):
    reason = AddressPolicy().refusal(ipaddress.ip_address(address))
    assert (reason is None) if refused is None else (refused in reason), reason


def test_allowed_networks_open_only_themselves_and_never_metadata():
    policy = AddressPolicy.from_strings(["10.1.2.0/24", "169.254.0.0/16", "::1"])
    assert policy.refusal(ipaddress.ip_address("10.1.2.7")) is None
    assert policy.refusal(ipaddress.ip_address("::ffff:10.1.2.7")) is None
    assert policy.refusal(ipaddress.ip_address("::1")) is None
    assert "private" in policy.refusal(ipaddress.ip_address("10.1.3.7"))
    assert "metadata" in policy.refusal(ipaddress.ip_address("169.254.169.254"))
    assert policy.refusal(ipaddress.ip_address("169.254.1.1")) is None
    assert embedded_ipv4(ipaddress.ip_address("::ffff:1.2.3.4")) == ipaddress.ip_address("1.2.3.4")
    with pytest.raises(ValueError, match="not an IP network"):
        AddressPolicy.from_strings(["10.1.2.0/33"])


def test_metadata_names_are_refused_before_any_dns_lookup():
    for name in ("metadata.google.internal", "Metadata.Google.Internal.", "instance-data"):
        with pytest.raises(BlockedAddressError, match="metadata"):
            AddressPolicy().resolve(name, 80)
