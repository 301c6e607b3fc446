"""The demo a newcomer meets: its data server behaves like a real remote, its seeding is a real
history made through the public API (once), and it never writes fake users into a real registry."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from ddas.demo import CATALOG, find_server, seed, start
from ddas.demo.server import STATUS_PATH, DemoServer, publish
from ddas.registry import Registry

REPO = Path(__file__).resolve().parents[1]


def cli_env() -> dict[str, str]:
    """The environment of ``python -m ddas.demo`` run as a person would: no DDAS_* settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DDAS_", "JUPYTERHUB_"))}
    env["PYTHONPATH"] = str(REPO)
    return env


def test_stop_forgets_a_server_killed_with_minus_9(tmp_path: Path) -> None:
    """A server.json whose process is gone claims nothing after --stop; a live pid's file stays."""
    root = tmp_path / "demo"
    root.mkdir()
    env = cli_env()
    cli = [sys.executable, "-m", "ddas.demo", "--root", str(root), "--stop"]
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead_url = "http://127.0.0.1:9/"  # the discard port: nothing answers there
    (root / "server.json").write_text(f'{{"url": "{dead_url}", "pid": {gone.pid}}}')
    out = subprocess.run(cli, env=env, check=True, capture_output=True, text=True).stdout
    assert "no demo server running" in out and f"its pid {gone.pid} is gone" in out
    assert not (root / "server.json").exists()

    (root / "server.json").write_text(f'{{"url": "{dead_url}", "pid": {os.getpid()}}}')
    out = subprocess.run(cli, env=env, check=True, capture_output=True, text=True).stdout
    assert "no demo server running" in out and "removed" not in out
    assert (root / "server.json").exists()  # a live process: perhaps a slow server, keep it


def test_close_lets_a_response_in_flight_finish(server: DemoServer) -> None:
    """Stopping the server (SIGTERM, then exit) must not cut a response short after its headers."""
    srv = server  # closed here, and again by the fixture (a second close is a no-op)
    data = os.urandom(1 << 20) * 64  # far more than loopback's socket buffers hold
    url = srv.base_url + "big.bin"
    publish(srv.www, "big.bin", data)
    resp = urllib.request.urlopen(url, timeout=30)
    first = resp.read(1 << 16)
    closing = threading.Thread(target=srv.close)
    closing.start()
    time.sleep(2.0)  # past serve_forever's 0.5 s poll: shutdown() alone has returned by now
    assert closing.is_alive(), "close() returned while a response was still being sent"
    rest = resp.read()
    resp.close()
    closing.join(timeout=10)
    assert not closing.is_alive() and srv.active == 0
    assert first + rest == data
    with pytest.raises(OSError):  # and it takes no new request
        urllib.request.urlopen(srv.base_url + "big.bin", timeout=5)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[DemoServer]:
    srv = DemoServer(tmp_path / "www", tmp_path).start()
    yield srv
    srv.close()


@pytest.fixture
def saved_environ() -> Iterator[None]:
    """``ddas.demo.start`` sets this process's DDAS_* variables on purpose; put them back."""
    before = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(before)


def head(url: str) -> dict[str, str]:
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD"), timeout=5) as resp:
        return dict(resp.headers)


def test_seed_makes_the_demo_history_once(
    registry: Registry, server: DemoServer, tmp_path: Path
) -> None:
    assert seed(registry, tmp_path, server.base_url) == 4  # 2 downloads, 1 reuse, bob's copy

    users = {row["user"]: row for row in registry.stats().to_dict()["by_user"]}
    assert users["alice"]["downloads"] == 2 and users["alice"]["reuses"] == 0
    assert users["bob"]["reuses"] == 1
    assert users["bob"]["bytes_saved"] == len(CATALOG["air_temperature_2020.csv"]())
    groups = registry.duplicates().items
    assert len(groups) == 1 and groups[0].name == "stations.csv"
    assert sorted((c.owner, Path(c.location).name) for c in groups[0].copy_list) == [
        ("alice", "stations.csv"),
        ("bob", "stations-copy.csv"),
    ]
    assert server.status()["bytes_sent"] == {
        f"/{name}": len(CATALOG[name]()) for name in ("stations.csv", "air_temperature_2020.csv")
    }  # bob's reuse downloaded nothing

    events = registry.last_event_id()
    assert seed(registry, tmp_path, server.base_url) == 0
    assert registry.last_event_id() == events and registry.search().total == 2


def test_demo_server_gives_versions_and_counts_body_bytes(server: DemoServer) -> None:
    publish(server.www, "a/data.csv", b"x,y\n1,2\n")
    url = server.base_url + "a/data.csv"
    first = head(url)
    assert first["Content-Length"] == "8" and first["ETag"] and first["Last-Modified"]
    publish(server.www, "a/data.csv", b"x,y\n1,2\n")  # the same bytes: not a new version
    assert head(url)["ETag"] == first["ETag"]
    publish(server.www, "a/data.csv", b"x,y\n1,2\n3,4\n")
    assert head(url)["ETag"] != first["ETag"]
    with urllib.request.urlopen(url, timeout=5) as resp:
        assert resp.read() == b"x,y\n1,2\n3,4\n"
    assert server.status()["bytes_sent"] == {"/a/data.csv": 12}  # HEADs send no body

    for escape in ("../registry.db", "%2e%2e/registry.db", "a/../../x"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server.base_url + escape, timeout=5)
        assert err.value.code == 404
    with pytest.raises(ValueError, match="inside"):
        publish(server.www, "../outside.csv", b"")


def test_outside_a_demo_folder_start_uses_a_temporary_registry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, saved_environ: None
) -> None:
    """A notebook opened in an institution's Lab must not add alice and bob to the real registry."""
    os.environ["DDAS_REGISTRY"] = str(tmp_path / "real.db")
    os.environ.pop("DDAS_DEMO_DIR", None)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))

    demo = start()
    try:
        assert demo.private and os.environ["DDAS_REGISTRY"] != str(tmp_path / "real.db")
        assert Registry().search().total == 2  # seeded, in the temporary registry
        assert not (tmp_path / "real.db").exists()
        assert demo.bytes_sent("stations.csv") == len(CATALOG["stations.csv"]())
    finally:
        demo.close()


def test_cli_serves_in_the_background_and_stops(tmp_path: Path) -> None:
    """What `make lab` runs: --serve --detach returns once the server is seeded; --stop ends it."""
    root = tmp_path / "demo"
    env = cli_env()
    cli = [sys.executable, "-m", "ddas.demo", "--root", str(root)]
    started = time.monotonic()
    out = subprocess.run(
        [*cli, "--serve", "--detach", "--port", "0"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    print(f"--serve --detach returned after {time.monotonic() - started:.1f} s")
    try:
        url = find_server(root)
        assert url is not None and url in out
        assert Registry(f"sqlite:///{root / 'registry.db'}").search().total == 2
        again = subprocess.run(
            [*cli, "--serve", "--detach"],
            env=env,
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout
        assert "already serving" in again  # a second `make lab` reuses the running server
    finally:
        stop = subprocess.Popen([*cli, "--stop"], env=env)
        assert stop.wait(timeout=60) == 0
    log = (root / "server.log").read_text()
    # the server says who stopped it: this --stop, not something else that signalled it
    assert f"stopping on SIGTERM from pid {stop.pid} (" in log, log
    assert find_server(root) is None and not (root / "server.json").exists()
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the port closes right after server.json is removed
        try:
            urllib.request.urlopen(url.rstrip("/") + STATUS_PATH, timeout=1).close()
        except OSError:
            break
        time.sleep(0.1)
    else:
        pytest.fail("the demo server still answers after --stop")


@pytest.mark.parametrize("siginfo", [True, False], ids=["linux", "no-sigwaitinfo (macOS)"])
def test_the_server_log_names_the_stop_signal(
    monkeypatch: pytest.MonkeyPatch, siginfo: bool
) -> None:
    """The stop line is written where ``sigwaitinfo`` exists and where it does not (macOS)."""
    from ddas.demo.__main__ import _wait_for_stop

    if not siginfo:
        monkeypatch.delattr(signal, "sigwaitinfo", raising=False)
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM})
    try:  # sent to this thread only, where it stays pending: no other thread can take it
        signal.pthread_kill(threading.get_ident(), signal.SIGTERM)
        line = _wait_for_stop({signal.SIGTERM})
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)
    expected = f"stopping on SIGTERM from pid {os.getpid()} (" if siginfo else "stopping on SIGTERM"
    assert expected in line and (siginfo or "from pid" not in line)
