"""A loopback HTTP server with fault injection, serving RAW files, and RAISE-shaped CSV lists."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

N_FILES = 4
HTML_PAGE = b"<!DOCTYPE html><html><body><h1>Please log in</h1></body></html>\n"


@dataclass
class ServerState:
    """What the server serves and how it misbehaves; shared with the handler threads."""

    files: dict[str, bytes]  # URL path -> body
    faults: dict[str, list[str]] = field(default_factory=dict)  # URL path -> faults, one per request
    requests: list[tuple[str, str | None]] = field(default_factory=list)  # (path, Range header)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_fault(self, path: str, range_header: str | None) -> str | None:
        with self.lock:
            self.requests.append((path, range_header))
            queue = self.faults.get(path, [])
            return queue.pop(0) if queue else None

    def hits(self, path: str) -> list[str | None]:
        """The Range header of every request for `path` (None: no Range)."""
        return [r for p, r in self.requests if p == path]


class FaultyHandler(BaseHTTPRequestHandler):
    """GET with Range support, and per-request faults (see `FAULTS`)."""

    state: ServerState  # set on a subclass per server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        range_header = self.headers.get("Range")
        fault = self.state.next_fault(self.path, range_header)
        body = self.state.files.get(self.path)
        if fault and fault.isdigit():  # an HTTP status, e.g. "500", "403", "425"
            return self._send(int(fault), b"error\n", "text/plain")
        if body is None:
            return self._send(404, b"error\n", "text/plain")
        if fault in ("html", "html-octet"):
            content_type = "text/html; charset=utf-8" if fault == "html" else "application/octet-stream"
            return self._send(200, HTML_PAGE, content_type)
        if fault == "redirect-file":
            return self._send(302, b"", "text/plain", extra={"Location": "file:///etc/passwd"})
        if fault == "nolength":  # no Content-Length: the body ends when the connection closes, at 60 %
            return self._send(200, body[: len(body) * 6 // 10], length=False)
        if fault == "short":  # a Content-Length for the whole file, 60 % of it sent, then the close
            return self._send(200, body, cut_at=len(body) * 6 // 10)
        if fault == "drip":  # one byte at a time, each well within the read timeout, never finishing
            return self._send(200, body, drip_s=0.1)
        if fault == "resized":  # the file changed on the server: 1000 bytes longer than before
            body = body + bytes(1000)
        start = 0 if fault == "norange" else _range_start(range_header)
        if start and fault == "badrange":  # asked for `start-`, sends the whole file as a 206
            return self._send(206, body, extra={"Content-Range": f"bytes 0-{len(body) - 1}/{len(body)}"})
        if start >= len(body):
            return self._send(416, b"", "text/plain", extra={"Content-Range": f"bytes */{len(body)}"})
        if start:
            extra = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            # wrong206: the headers promise the asked range, the body is the file's start
            sent = body[: len(body) - start] if fault == "wrong206" else body[start:]
            return self._send(206, sent, extra=extra, cut_at=len(sent) // 2 if fault == "cut" else None)
        self._send(200, body, cut_at=len(body) // 2 if fault == "cut" else None)

    def _send(
        self, code, body, content_type="application/octet-stream", extra=None, cut_at=None, length=True,
        drip_s=0.0,
    ) -> None:  # fmt: skip
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if drip_s:
            return self._drip(body, drip_s)
        # a cut sends the bytes before `cut_at` and drops the connection
        self.wfile.write(body if cut_at is None else body[:cut_at])
        if cut_at is not None or not length:
            self.wfile.flush()
            self.close_connection = True

    def _drip(self, body: bytes, seconds: float) -> None:
        try:
            for i in range(len(body)):
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
                time.sleep(seconds)
        except OSError:  # the client gave up: what the test wants
            pass
        self.close_connection = True


class QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-body is what several tests do on purpose: no traceback for it."""

    def handle_error(self, request, client_address) -> None:
        pass


def _range_start(header: str | None) -> int:
    match = re.fullmatch(r"bytes=(\d+)-", header or "")
    return int(match[1]) if match else 0


@pytest.fixture(scope="session")
def raw_bodies(sample_raw_dir) -> dict[str, bytes]:
    """{file name: bytes} of real RAW files: the first DNGs of the project's embedded sample, served as .NEF."""
    paths = sorted(p for p in sample_raw_dir.iterdir() if p.suffix.lower() == ".dng")[:N_FILES]
    assert len(paths) == N_FILES, f"expected {N_FILES} DNGs in {sample_raw_dir}"
    return {f"r{i:04d}xx.NEF": p.read_bytes() for i, p in enumerate(paths)}  # LibRaw reads by content


@pytest.fixture
def raise_server(raw_bodies) -> Iterator[tuple[str, ServerState]]:
    """(base URL, state) of a loopback server serving the RAW files under /NEF/<name>."""
    state = ServerState(files={f"/NEF/{name}": body for name, body in raw_bodies.items()})
    handler = type("Handler", (FaultyHandler,), {"state": state})
    server = QuietServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", state
    server.shutdown()
    server.server_close()


@pytest.fixture
def make_csv(tmp_path, raise_server, raw_bodies):
    """make_csv(names=None, extra_rows=(), file="RAISE_1k.csv") -> a RAISE-shaped list on the test server."""
    base, _ = raise_server

    def make(names=None, extra_rows=(), file="RAISE_1k.csv") -> Path:
        return write_raise_csv(
            tmp_path / file, base, sorted(raw_bodies) if names is None else names, extra_rows
        )

    return make


def write_raise_csv(path: Path, base: str, names: list[str], extra_rows=()) -> Path:
    """A list shaped like RAISE_1k.csv: File,TIFF,NEF,Date,Location,Device,Image Size,Keywords."""
    lines = ["File,TIFF,NEF,Date,Location,Device,Image Size,Keywords"]
    for name in names:
        stem = name.rsplit(".", 1)[0]
        lines.append(
            f'{stem},{base}/TIFF/{stem}.TIF,{base}/NEF/{name},2008:05:01 10:11:12,"46.07, 11.12",'
            f'Nikon D90,4288x2848,"outdoor;nature"'
        )
    lines.extend(extra_rows)
    path.write_text("\ufeff" + "\n".join(lines) + "\n", encoding="utf-8")  # a BOM, as spreadsheet exports add
    return path
