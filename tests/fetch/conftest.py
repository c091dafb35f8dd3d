"""A loopback HTTP server with fault injection, serving RAW files, and RAISE-shaped CSV lists."""

from __future__ import annotations

import re
import threading
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
    """GET with Range support, and per-request faults: 500, 503, 404, cut, html, html-octet, norange."""

    state: ServerState  # set on a subclass per server
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        range_header = self.headers.get("Range")
        fault = self.state.next_fault(self.path, range_header)
        body = self.state.files.get(self.path)
        if fault in ("500", "503") or (fault == "404" or body is None):
            code = int(fault) if fault in ("500", "503") else 404
            return self._send(code, b"error\n", "text/plain")
        if fault in ("html", "html-octet"):
            content_type = "text/html; charset=utf-8" if fault == "html" else "application/octet-stream"
            return self._send(200, HTML_PAGE, content_type)
        start = 0 if fault == "norange" else _range_start(range_header)
        if start >= len(body):
            return self._send(416, b"", "text/plain", extra={"Content-Range": f"bytes */{len(body)}"})
        if start:
            extra = {"Content-Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
            return self._send(206, body[start:], extra=extra, cut=fault == "cut")
        self._send(200, body, cut=fault == "cut")

    def _send(self, code, body, content_type="application/octet-stream", extra=None, cut=False) -> None:
        self.send_response(code)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        # a cut sends half the promised bytes and drops the connection
        self.wfile.write(body[: len(body) // 2] if cut else body)
        if cut:
            self.wfile.flush()
            self.close_connection = True


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
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
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
