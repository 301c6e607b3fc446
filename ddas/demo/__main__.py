"""``python -m ddas.demo``: what ``make lab`` and Binder's start script run.

``--serve --detach`` starts the data server for the demo folder as a child, seeds the registry and
returns once the server answers; ``--stop`` ends it; with no option the registry is seeded (a
server started just for that) and the command exits.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ddas import config
from ddas.demo.session import (
    DEFAULT_PORT,
    DEMO_DIR_ENV,
    DEMO_PORT_ENV,
    SERVER_FILE,
    demo_env,
    find_server,
    seed,
    start,
)


def _serve_forever(root: Path, port: int | None) -> None:
    """Serve, seed, announce in ``server.json``; run until SIGTERM/SIGINT, then clean up.

    The two signals are blocked before any thread starts (threads inherit the mask) and taken with
    ``sigwait`` in this thread: a Python handler would only run once the main thread wakes, and the
    kernel may hand the signal to a server thread instead, leaving the main thread asleep and the
    server running after ``--stop`` or Ctrl-C.
    """
    stop_signals = {signal.SIGINT, signal.SIGTERM}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)
    demo = start(root, port=port, seed_registry=False)
    if demo.server is None:
        print(f"ddas demo: a demo server for {root} already runs at {demo.base_url}")
        return
    from ddas.registry import Registry

    try:
        steps = seed(Registry(), root, demo.base_url)
        (root / SERVER_FILE).write_text(json.dumps({"url": demo.base_url, "pid": os.getpid()}))
        print(
            f"ddas demo: serving {root / 'www'} at {demo.base_url} ({steps} seeding steps; "
            f"registry {config.registry_url()})",
            flush=True,
        )
        print(_wait_for_stop(stop_signals), flush=True)
    finally:
        with contextlib.suppress(FileNotFoundError):
            (root / SERVER_FILE).unlink()
        demo.close()


def _wait_for_stop(stop_signals: set[signal.Signals]) -> str:
    """Wait for a stop signal; say who sent it, for the server's log. An admin whose demo server
    vanished can then tell ``--stop`` or Ctrl-C from something else that signalled it. Only the
    sender's process name is shown: a command line may hold a signed URL. (macOS has no
    ``sigwaitinfo``: there the signal alone is named.)"""
    if not hasattr(signal, "sigwaitinfo"):
        return f"ddas demo: stopping on {signal.Signals(signal.sigwait(stop_signals)).name}"
    info = signal.sigwaitinfo(stop_signals)
    name = signal.Signals(info.si_signo).name
    try:
        comm = Path(f"/proc/{info.si_pid}/comm").read_text().strip()
    except OSError:
        comm = "gone"
    return f"ddas demo: stopping on {name} from pid {info.si_pid} ({comm})"


def _detach(root: Path, port: int | None, timeout: float = 60.0) -> int:
    """Start ``--serve`` as a child and return once it is seeded and answering.

    The child stays in this process group, so Ctrl-C on ``make lab`` stops it with JupyterLab.
    """
    if url := find_server(root):
        print(f"ddas demo: already serving at {url}")
        return 0
    root.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "ddas.demo", "--serve", "--root", str(root)]
    args += ["--port", str(port)] if port is not None else []
    with open(root / "server.log", "ab") as log:
        child = subprocess.Popen(
            args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if url := find_server(root):
            print(f"ddas demo: serving at {url} (pid {child.pid}, log {root / 'server.log'})")
            return 0
        if child.poll() is not None:
            break
        time.sleep(0.2)
    print(f"ddas demo: the server did not start; see {root / 'server.log'}", file=sys.stderr)
    return 1


def _recorded_pid(root: Path) -> int:
    """The pid ``server.json`` records for the folder's server."""
    return int(json.loads((root / SERVER_FILE).read_text())["pid"])


def _forget_dead_server(root: Path) -> str:
    """Remove ``server.json`` when the process it names is gone (killed with -9, or the machine
    rebooted), so that the file no longer claims a server; a slow live server keeps its file."""
    try:
        pid = _recorded_pid(root)
        os.kill(pid, 0)
    except ProcessLookupError:
        (root / SERVER_FILE).unlink(missing_ok=True)
        return f" (removed {root / SERVER_FILE}: its pid {pid} is gone)"
    except (OSError, ValueError, KeyError):
        pass
    return ""


def _stop(root: Path) -> int:
    """Stop the demo server recorded for ``root`` (only if it answers as that folder's server)."""
    if find_server(root) is None:
        print("ddas demo: no demo server running" + _forget_dead_server(root))
        return 0
    pid = _recorded_pid(root)
    print(f"ddas demo: stopping the server (pid {pid}) from pid {os.getpid()}", flush=True)
    os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + 10
    while find_server(root) is not None:
        if time.monotonic() > deadline:
            print(f"ddas demo: the server (pid {pid}) still answers after 10 s", file=sys.stderr)
            return 1
        time.sleep(0.1)
    print(f"ddas demo: stopped the server (pid {pid})")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ddas.demo",
        description="The DDAS demo: a local data server and a seeded registry (no option: seed and exit).",
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--serve", action="store_true", help="run the data server (foreground)")
    action.add_argument("--stop", action="store_true", help="stop the folder's data server")
    parser.add_argument(
        "--detach",
        action="store_true",
        help="with --serve: return once the server is up and seeded",
    )
    parser.add_argument(
        "--root",
        default=None,
        help=f"demo folder (default: ${DEMO_DIR_ENV}, else {config.data_dir() / 'demo'})",
    )
    parser.add_argument(
        "--port",
        type=int,
        default=None,
        help=f"server port (default: ${DEMO_PORT_ENV}, else {DEFAULT_PORT})",
    )
    args = parser.parse_args(argv)
    root = Path(args.root or os.environ.get(DEMO_DIR_ENV) or config.data_dir() / "demo")
    root = root.expanduser().resolve()
    for key, value in demo_env(root).items():
        os.environ.setdefault(key, value)
    if args.stop:
        return _stop(root)
    if args.serve and args.detach:
        return _detach(root, args.port)
    if args.serve:
        _serve_forever(root, args.port)
        return 0
    demo = start(root, port=args.port)
    print(f"ddas demo: registry {config.registry_url()} seeded from {demo.base_url}")
    demo.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
