"""URL identity: every spelling of one dataset is one registry key, and no secret survives into it.

Property tests (hypothesis) generate URLs the way users paste them: mixed case, default ports, dot
segments, fragments, shuffled queries, presigned S3 / SAS / OAuth parameters and userinfo.
"""

from __future__ import annotations

from urllib.parse import quote, unquote

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ddas.errors import InvalidURLError
from ddas.identity import (
    SECRET_PARAMS,
    Validators,
    is_secret_param,
    normalize_url,
    redact,
    validators_from_headers,
)

# Wall-clock deadlines make property tests flaky on a loaded CI machine; speed is benchmarked.
relaxed = settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Generated parts never contain "q"/"Q", so a secret marked with "QQ" can only come from a secret.
_LOWER = "abcdefghijklmnoprstuvwxyz"
_SAFE_CHARS = _LOWER + _LOWER.upper().replace("Q", "") + "0123456789-._~"
labels = st.text(_LOWER + "0123456789", min_size=1, max_size=10)
hosts = st.lists(labels, min_size=1, max_size=3).map(lambda xs: ".".join([*xs, "org"]))
segments = st.one_of(
    st.text(_SAFE_CHARS + "!$&'()*+,;=:@ é", min_size=1, max_size=12),
    st.sampled_from([".", "..", "%7Euser", "%2f", "a%20b"]),
)
paths = st.lists(segments, max_size=5).map(lambda xs: "/" + "/".join(xs))
plain_keys = st.text(_LOWER, min_size=1, max_size=8).filter(lambda k: not is_secret_param(k))
plain_values = st.text(_SAFE_CHARS + " /é", max_size=12).map(lambda v: quote(v, safe="/"))
plain_params = st.lists(st.tuples(plain_keys, plain_values), max_size=5, unique_by=lambda p: p[0])
secret_keys = st.sampled_from(
    [
        "X-Amz-Signature",
        "X-Amz-Credential",
        "X-Amz-Security-Token",
        "x-amz-date",
        "Signature",
        "sig",
        "token",
        "access_token",
        "Expires",
        "X-Goog-Signature",
        "sv",
        "se",
    ]
)
secret_values = st.text(_SAFE_CHARS + "/+=%:@", min_size=6, max_size=40).map(lambda v: "QQ" + v)
secret_params = st.lists(st.tuples(secret_keys, secret_values), min_size=1, max_size=4)


def _query(params: list[tuple[str, str]]) -> str:
    return "&".join(f"{k}={v}" for k, v in params)


def _secret_free(result: str, secret: str) -> bool:
    """Neither the raw secret, nor its percent-encoded form, nor a decoding of ours shows it."""
    return (
        secret not in result
        and quote(secret, safe="") not in result
        and (secret not in unquote(result))
    )


# -- idempotence ---------------------------------------------------------------------------------


@relaxed
@given(
    scheme=st.sampled_from(["http", "HTTPS", "Https", "ftp", "s3", "gs"]),
    host=hosts,
    path=paths,
    params=plain_params,
    secrets=st.lists(st.tuples(secret_keys, secret_values), max_size=3),
)
def test_normalizing_twice_changes_nothing(scheme, host, path, params, secrets) -> None:
    url = f"{scheme}://{host}{path}?{_query(params + secrets)}#frag"
    once = normalize_url(url).url
    assert normalize_url(once).url == once


@relaxed
@given(tail=st.text(max_size=60))
def test_any_text_after_a_host_is_either_rejected_or_normalized_idempotently(tail: str) -> None:
    try:
        once = normalize_url("https://data.example.org/" + tail).url
    except InvalidURLError:
        return
    assert normalize_url(once).url == once
    assert all(32 < ord(c) < 127 for c in once), "a normalized remote URL is printable ASCII"


@relaxed
@given(authority_and_rest=st.text(max_size=40))
def test_any_authority_is_either_rejected_or_normalized_idempotently(
    authority_and_rest: str,
) -> None:
    try:
        once = normalize_url("http://" + authority_and_rest).url
    except InvalidURLError:
        return
    assert normalize_url(once).url == once


def test_a_bare_percent_sign_is_encoded_so_a_second_pass_cannot_decode_it() -> None:
    once = normalize_url("http://h.org/%%341").url
    assert once == "http://h.org/%2541"
    assert normalize_url(once).url == once


# -- secrets -------------------------------------------------------------------------------------


@relaxed
@given(
    host=hosts,
    path=paths,
    params=plain_params,
    secrets=secret_params,
    user=st.text(_SAFE_CHARS, min_size=1, max_size=8).map(lambda u: "QQu" + u),
    password=st.text(_SAFE_CHARS + "!$&'()*+,;=:/?#@", min_size=1, max_size=12),
    order=st.randoms(use_true_random=False),
)
def test_signing_parameters_and_userinfo_never_survive_normalization(
    host, path, params, secrets, user, password, order
) -> None:
    password = "QQp" + password
    mixed = params + secrets
    order.shuffle(mixed)
    userinfo = f"{user}:{quote(password, safe='')}@"
    url = f"https://{userinfo}{host}{path}?{_query(mixed)}"
    result = normalize_url(url)
    for secret in [user, password, *(v for _, v in secrets)]:
        assert _secret_free(result.url, secret), (secret, result.url)
        assert secret not in repr(result)
    assert "@" not in result.url.split("/")[2], "userinfo is dropped from the authority"
    assert {k for k, _ in secrets} <= set(result.stripped), "stripped names what was removed"
    for key, _ in params:
        assert key in result.url, "plain parameters are kept"


@pytest.mark.parametrize(
    "url",
    [
        "https://bucket.s3.amazonaws.com/era5.nc?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAQQ%2F20240101%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20240101T000000Z"
        "&X-Amz-Expires=3600&X-Amz-SignedHeaders=host&X-Amz-Signature=QQdeadbeef",
        "https://acct.blob.core.windows.net/c/era5.nc?sv=2022-11-02&se=QQ2030&sr=b&sp=r&sig=QQabc%3D",
        "https://storage.googleapis.com/b/era5.nc?X-Goog-Signature=QQ123&X-Goog-Credential=QQsa",
        "https://cdn.example.org/era5.nc?Expires=QQ1700000000&Signature=QQsig&Key-Pair-Id=QQKP",
        "https://api.example.org/era5.nc?access_token=QQtok&TOKEN=QQTOK2&Api_Key=QQk",
        "https://QQuser:QQpass@data.example.org/era5.nc",
    ],
)
def test_real_world_presigned_urls_lose_every_secret_and_keep_the_dataset(url: str) -> None:
    result = normalize_url(url)
    assert "QQ" not in result.url and "qq" not in result.url
    assert result.name == "era5.nc"
    assert redact(url) == result.url


def test_an_undecodable_port_does_not_echo_half_a_password_in_the_error() -> None:
    with pytest.raises(InvalidURLError) as err:
        normalize_url("https://alice:QQpa/ss@data.example.org/x")
    assert "QQ" not in str(err.value)
    assert redact("https://alice:QQpa/ss@data.example.org/x") == "<invalid URL>"


def test_an_admin_can_declare_more_secret_parameters(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "https://data.example.org/era5.nc?LabTicket=QQ1&Other=QQ2&keep=1"
    assert "QQ1" in normalize_url(url).url, "not secret until the admin says so"
    monkeypatch.setenv("DDAS_SECRET_PARAMS", " labticket , OTHER,")
    result = normalize_url(url)
    assert result.url == "https://data.example.org/era5.nc?keep=1"
    assert set(result.stripped) == {"LabTicket", "Other"}


def test_a_caller_can_add_secret_parameters_for_one_call() -> None:
    url = "https://data.example.org/x?grant=QQ1&keep=1"
    assert normalize_url(url, extra_secret_params=frozenset({"grant"})).url.endswith("?keep=1")
    assert "grant=QQ1" in normalize_url(url).url


def test_percent_encoded_secret_names_are_recognised() -> None:
    url = "https://h.example.org/x?X%2DAmz%2DSignature=QQ1&%74oken=QQ2"
    assert "QQ" not in normalize_url(url).url
    assert all(is_secret_param(n) for n in ("SIG", "Token", "x-amz-anything", "x-goog-date"))
    assert "sig" in SECRET_PARAMS


# -- equivalences --------------------------------------------------------------------------------


@relaxed
@given(host=hosts, path=paths, params=plain_params)
def test_scheme_and_host_case_default_port_and_fragment_do_not_make_a_new_dataset(
    host, path, params
) -> None:
    query = _query(params)
    canonical = normalize_url(f"https://{host}{path}?{query}").url
    for variant in [
        f"HTTPS://{host.upper()}{path}?{query}",
        f"https://{host}:443{path}?{query}",
        f"https://{host}.{path}?{query}",
        f"https://{host}{path}?{query}#section-2",
        f"  https://{host}{path}?{query}  ",
    ]:
        assert normalize_url(variant).url == canonical, variant


@relaxed
@given(host=hosts, path=paths, junk=st.lists(labels, max_size=3))
def test_dot_segments_are_removed(host, path, junk) -> None:
    canonical = normalize_url(f"http://{host}{path}").url
    detour = "".join(f"/{j}/.." for j in junk)
    assert normalize_url(f"http://{host}/.{detour}{path}").url == canonical


@relaxed
@given(host=hosts, params=plain_params.filter(lambda p: len(p) > 1), data=st.data())
def test_query_parameter_order_does_not_matter(host, params, data) -> None:
    shuffled = data.draw(st.permutations(params))
    a = normalize_url(f"https://{host}/f.nc?{_query(params)}").url
    b = normalize_url(f"https://{host}/f.nc?{_query(shuffled)}").url
    assert a == b


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("http://Example.ORG:80/a/./b/../c", "http://example.org/a/c"),
        ("https://example.org", "https://example.org/"),
        ("https://example.org/%7euser/%41", "https://example.org/~user/A"),
        ("https://example.org/a%2fb", "https://example.org/a%2Fb"),
        ("https://example.org/a b", "https://example.org/a%20b"),
        ("https://example.org/x?b=2&a=1&&", "https://example.org/x?a=1&b=2"),
        ("http://[::1]:80/a", "http://[::1]/a"),
        ("s3://Bucket/key/data.nc", "s3://bucket/key/data.nc"),
    ],
)
def test_spellings_of_one_dataset_collapse_to_one_key(a: str, b: str) -> None:
    assert normalize_url(a).url == normalize_url(b).url


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("https://example.org/A.nc", "https://example.org/a.nc"),  # paths are case-sensitive
        ("https://example.org:8443/a", "https://example.org/a"),  # a non-default port is kept
        ("https://example.org/a?v=1", "https://example.org/a?v=2"),  # non-secret params count
        ("http://example.org/a", "https://example.org/a"),
    ],
)
def test_different_datasets_stay_different(a: str, b: str) -> None:
    assert normalize_url(a).url != normalize_url(b).url


def test_local_paths_become_absolute_file_urls(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = normalize_url("sub/../data set.nc")
    assert result.is_local
    assert result.url == "file://" + quote(str(tmp_path / "data set.nc"))
    assert normalize_url(result.url).url == result.url
    assert normalize_url(str(tmp_path / "data set.nc")).url == result.url


# -- invalid input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "",
        "   ",
        None,
        b"https://example.org/x",
        "mailto:someone@example.org",
        "1http://example.org/x",
        "ht tp://example.org/x",
        "http:///only/a/path",
        "https://:443/x",
        "https://example.org:99999/x",
        "https://example.org:port/x",
        "https://exa mple.org/x",
        "https://example.org/x\ny",
        "https://example.org/\x00",
        "https://example.org/\x7f",
        "https://example.org/\ud800",
    ],
)
def test_invalid_urls_raise_invalid_url_error(url) -> None:
    with pytest.raises(InvalidURLError):
        normalize_url(url)


@relaxed
@given(
    prefix=st.text(max_size=10),
    bad=st.sampled_from(["\x00", "\x01", "\n", "\r", "\t", "\x1b", "\x7f"]),
    suffix=st.text(max_size=10),
)
def test_control_characters_anywhere_are_rejected(prefix, bad, suffix) -> None:
    url = f"https://example.org/{prefix}{bad}{suffix}"
    assume(url.strip() == url or bad not in url.strip())  # strip() may remove an edge one
    if bad in url.strip():
        with pytest.raises(InvalidURLError):
            normalize_url(url)


def test_invalid_url_error_is_a_value_error_for_callers_that_catch_those() -> None:
    with pytest.raises(ValueError, match="non-empty"):
        normalize_url("")


# -- validators ----------------------------------------------------------------------------------


def test_validators_identify_a_version_and_ignore_compressed_lengths() -> None:
    v = validators_from_headers({"ETag": '"abc"', "Last-Modified": "Mon", "Content-Length": "12"})
    assert v.known and v.key == '"abc"|Mon|12'
    gz = validators_from_headers({"Content-Length": "5", "Content-Encoding": "gzip"})
    assert gz.size is None and not gz.known
    assert Validators().key == "||" and not Validators().known
