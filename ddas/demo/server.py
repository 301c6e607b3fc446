"""The demo's data server: a small HTTP server that publishes a folder the way a data portal does.

The demo and the notebooks need a remote that behaves like a real one, without internet: every file
gets an ``ETag`` and ``Last-Modified`` (so DDAS can tell versions apart), ``HEAD`` answers without a
body (so a hit costs one HEAD), and the server counts the body bytes it sent per path, so a notebook
can *show* that a hit downloaded nothing. Files are read from disk at each request: rewriting a file
publishes a new version at the same URL, which is how notebook 02 demonstrates versions.

Only the standard library is used; this is a demo, not a production file server.
"""

from __future__ import annotations

import contextlib
import email.utils
import json
import os
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

#: Path of the JSON status document; a client uses it to tell *our* server from another one.
STATUS_PATH = "/.ddas-demo/status"


class DemoServer:
    """Serve ``www`` on ``host:port`` (0: any free port) from a background thread.

    ``root`` is the demo folder the server belongs to; it is reported by the status document so that
    a second process can check that the server it found is the one for its own demo folder.
    """

    def __init__(self, www: Path, root: Path, host: str = "127.0.0.1", port: int = 0) -> None:
        self.www = Path(www).resolve()
        self.root = Path(root).resolve()
        self.www.mkdir(parents=True, exist_ok=True)
        self.sent: dict[str, int] = {}
        self.requests: dict[str, int] = {}
        self.lock = threading.Lock()
        self.active = 0  # requests being answered now: close() lets them finish
        self._idle = threading.Condition(self.lock)
        handler = type("Handler", (_Handler,), {"server_state": self})
        self.httpd = ThreadingHTTPServer((host, port), handler)
        self.httpd.daemon_threads = True
        self.host, self.port = host, self.httpd.server_address[1]
        self.thread = threading.Thread(
            target=self.httpd.serve_forever, name="ddas-demo-server", daemon=True
        )

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/"

    def start(self) -> DemoServer:
        self.thread.start()
        return self

    def close(self, drain: float = 5.0) -> None:
        """Stop taking requests, then give those being answered up to ``drain`` seconds to end.

        The handler threads are daemons (a stalled client must not keep the process alive), so
        without the wait a process that exits right after ``close`` would cut a response short
        after its headers: the client of ``--stop``'s own status request saw exactly that.
        """
        self.httpd.shutdown()
        self.httpd.server_close()
        with self._idle:
            self._idle.wait_for(lambda: self.active == 0, timeout=drain)

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Count one request as in flight for the duration of the block (see :meth:`close`)."""
        with self._idle:
            self.active += 1
        try:
            yield
        finally:
            with self._idle:
                self.active -= 1
                self._idle.notify_all()

    def status(self) -> dict[str, object]:
        """What ``GET /.ddas-demo/status`` answers: who we are and the bytes sent per path."""
        with self.lock:
            return {
                "root": str(self.root),
                "pid": os.getpid(),
                "bytes_sent": dict(self.sent),
                "requests": dict(self.requests),
            }

    def count(self, path: str, nbytes: int, *, request: bool = False) -> None:
        """Add ``nbytes`` to ``path``'s body bytes (and one request, when ``request``)."""
        with self.lock:
            self.sent[path] = self.sent.get(path, 0) + nbytes
            if request:
                self.requests[path] = self.requests.get(path, 0) + 1


def publish(www: Path, path: str, data: bytes) -> Path:
    """Write ``data`` at ``www/path`` atomically (a reader never sees half a file); the file path.

    A rewrite gets a new mtime, hence a new ``ETag``: the same URL now serves a new version.
    Publishing the bytes already there changes nothing, as on a real portal.
    """
    target = resolve(www, path)
    if target is None:
        raise ValueError(f"{path!r} is not a path inside the demo server's folder")
    if target.is_file() and target.stat().st_size == len(data) and target.read_bytes() == data:
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


def resolve(www: Path, path: str) -> Path | None:
    """The file under ``www`` that URL path ``path`` names, or None if it would escape ``www``."""
    base = Path(www).resolve()
    candidate = (base / unquote(path).lstrip("/")).resolve()
    try:
        candidate.relative_to(base)
    except ValueError:
        return None
    return candidate


def etag_of(stat: os.stat_result) -> str:
    """A strong validator that changes whenever the file is rewritten (size or mtime)."""
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


class _Handler(BaseHTTPRequestHandler):
    server_state: DemoServer
    protocol_version = "HTTP/1.1"

    def log_message(self, *args: object) -> None:  # a notebook's output is no place for logs
        pass

    def do_HEAD(self) -> None:
        with self.server_state.answering():
            self._serve(body=False)

    def do_GET(self) -> None:
        with self.server_state.answering():
            self._serve(body=True)

    def _reply(self, status: int, payload: bytes = b"", ctype: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _serve(self, body: bool) -> None:
        path = urlsplit(self.path).path
        state = self.server_state
        if path == STATUS_PATH:
            self._reply(200, json.dumps(state.status()).encode(), "application/json")
            return
        target = resolve(state.www, path)
        if target is None or not target.is_file():
            self._reply(404, b"not found\n")
            return
        with open(target, "rb") as f:  # stat the open file: validators and bytes agree
            st = os.fstat(f.fileno())
            self.send_response(200)
            self.send_header("Content-Type", "application/octet-stream")
            self.send_header("Content-Length", str(st.st_size))
            self.send_header("ETag", etag_of(st))
            self.send_header("Last-Modified", email.utils.formatdate(st.st_mtime, usegmt=True))
            # Count before the bytes leave: a client that has read the whole body and then asks
            # for the status must see them (counting after the write raced with that client).
            state.count(path, 0, request=True)
            self.end_headers()
            if not body:
                return
            try:
                while chunk := f.read(1 << 16):
                    state.count(path, len(chunk))
                    self.wfile.write(chunk)
            except (BrokenPipeError, ConnectionResetError):
                self.close_connection = True
