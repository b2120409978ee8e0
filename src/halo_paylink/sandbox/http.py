"""The sandbox's HTTP plumbing: requests and answers as values, and the threaded server whose
handler reads one request, asks for its answer and writes it (HTTP/1.1, keep-alive).

Nothing here knows Halo: what to answer is decided by the `respond` callable the server is given
(None from it drops the connection unanswered). Every answer is counted in `SandboxStats.by_kind`
under the request's path kind, the dropped ones with status 0.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import logging
import socket
import socketserver
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from halo_paylink.sandbox.state import OTHER, SandboxStats

log = logging.getLogger(__name__)

HOST = "127.0.0.1"

#: The largest request body read; a longer `Content-Length` is answered 400.
MAX_BODY = 20 * 1024 * 1024


@dataclass
class Response:
    """One answer: status, body and headers (`Content-Length` and the rest are added on send)."""

    status: int
    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    endless: bool = False  # a chunked body that never ends (see Fault.endless)


def json_response(status: int, data: object, headers: dict[str, str] | None = None) -> Response:
    """`data` as compact UTF-8 JSON (non-ASCII text is sent as is, like Halo)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status, body, "application/json; charset=utf-8", headers or {})


def text_response(status: int, text: str, headers: dict[str, str] | None = None) -> Response:
    return Response(status, text.encode("utf-8"), "text/plain; charset=utf-8", headers or {})


@dataclass
class Request:
    """One request as read from the connection.

    Attributes:
        target: the request target as sent (path and query).
        client_host: the caller's address.
        kind: the path kind it is counted under (`state.OTHER` until it is routed).
        trickle: seconds between body bytes for its answer (`Fault.trickle`), 0 = all at once.
    """

    method: str
    target: str
    headers: Message
    body: bytes
    client_host: str
    kind: str = OTHER
    trickle: float = 0.0

    @property
    def media_type(self) -> str:
        """The `Content-Type` without parameters, lower-cased ("" when not sent)."""
        return (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()

    @property
    def bearer_token(self) -> str | None:
        """The token of an `Authorization: Bearer` header, if one was sent."""
        return bearer_token(self.headers.get("Authorization"))


def bearer_token(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    return value.strip() or None if scheme.lower() == "bearer" else None


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """(user, password) from an `Authorization: Basic` header, each form-decoded; None when the
    header is absent, of another scheme or not decodable."""
    if not header:
        return None
    scheme, _, value = header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(value.strip()).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return None
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


#: Answers a request; None = drop the connection without answering.
Responder = Callable[[Request], Response | None]


class SandboxServer(ThreadingHTTPServer):
    """ThreadingHTTPServer that hands each request to `respond` and can close its connections.

    `stopping` is set when the sandbox stops, so a slow or endless answer ends with it.
    """

    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        respond: Responder,
        stats: SandboxStats,
        stopping: threading.Event,
    ) -> None:
        self.respond = respond
        self.stats = stats
        self.stopping = stopping
        self._connections: set[socket.socket] = set()
        self._conn_lock = threading.Lock()
        super().__init__(address, RequestHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on DNS; skip it.
        socketserver.TCPServer.server_bind(self)
        self.server_name = HOST
        self.server_port = self.server_address[1]

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._conn_lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._conn_lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self._conn_lock:
            connections = list(self._connections)
        for conn in connections:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def count(self, request: Request, status: int) -> None:
        """Count one answer (status 0 = the connection was dropped unanswered)."""
        with self.stats.lock:
            self.stats.by_kind[(request.method, request.kind, status)] += 1


class RequestHandler(BaseHTTPRequestHandler):
    """Reads one request, asks the server's `respond` for the answer, writes it."""

    protocol_version = "HTTP/1.1"
    server_version = "HaloSandbox/1.0"
    sys_version = ""
    timeout = 120  # idle keep-alive connections are closed after this long
    server: SandboxServer

    def log_message(self, format: str, *args: Any) -> None:
        # Request lines are not logged: the sandbox must stay quiet on the CLI's stdout/stderr.
        pass

    def _serve(self) -> None:
        request = Request(
            self.command.upper(), self.path, self.headers, b"", self.client_address[0]
        )
        refusal = self._read_body(request)
        if refusal is not None:
            self._send(refusal, request)
            self.close_connection = True
            return
        try:
            response = self.server.respond(request)
        except Exception:
            log.exception("sandbox failed to answer %s %s", request.method, request.kind)
            response = text_response(500, "An error has occurred.")
        if response is None:
            self.close_connection = True
            self.server.count(request, 0)
            return
        self._send(response, request)

    def _read_body(self, request: Request) -> Response | None:
        """Read the body into `request`; or the answer refusing it (a chunked or bad length)."""
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return text_response(411, "Length Required")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            return text_response(400, "Bad Request")
        request.body = self.rfile.read(length) if length else b""
        return None

    def _send(self, response: Response, request: Request) -> None:
        self.server.count(request, response.status)
        # Status line, headers and body go out in one write: separate small writes would meet
        # Nagle's algorithm and delayed ACKs and cost ~40 ms per request on loopback.
        if response.endless or request.trickle > 0:
            self.close_connection = True  # the body is never (or only slowly) finished
        head = self._head(response)
        body = response.body if request.method != "HEAD" else b""
        if response.endless and request.method != "HEAD":
            self._send_endless(head, response.body)
        elif request.trickle > 0 and body:
            self._send_trickled(head, body, request.trickle)
        else:
            self.wfile.write(head + body)

    def _head(self, response: Response) -> bytes:
        """The status line and headers, ending in the blank line."""
        phrase = self.responses.get(response.status, ("",))[0]
        length = (
            "Transfer-Encoding: chunked"
            if response.endless
            else f"Content-Length: {len(response.body)}"
        )
        head = [
            f"{self.protocol_version} {response.status} {phrase}",
            f"Server: {self.server_version}",
            f"Date: {self.date_time_string()}",
            f"Content-Type: {response.content_type}",
            length,
            *(f"{name}: {value}" for name, value in response.headers.items()),
        ]
        if self.close_connection:
            head.append("Connection: close")
        return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1")

    def _send_trickled(self, head: bytes, body: bytes, interval: float) -> None:
        """Headers at once, then one byte every `interval` s, until done, hung up or stopping."""
        stopping = self.server.stopping
        try:
            self.wfile.write(head)
            self.wfile.flush()
            for i in range(len(body)):
                if stopping.wait(interval):
                    return
                self.wfile.write(body[i : i + 1])
                self.wfile.flush()
        except OSError:  # the client hung up, as it should
            return

    def _send_endless(self, head: bytes, chunk: bytes) -> None:
        """Headers, an opening bracket, then `chunk` again and again, until hung up or stopping."""
        stopping = self.server.stopping
        framed = f"{len(chunk):x}\r\n".encode("ascii") + chunk + b"\r\n"
        opening = b'{"invoices":['
        try:
            self.wfile.write(head + f"{len(opening):x}\r\n".encode("ascii") + opening + b"\r\n")
            while not stopping.is_set():
                self.wfile.write(framed)
        except OSError:  # the client hung up, as it should
            return

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve


class LoopbackService:
    """A `SandboxServer` on 127.0.0.1 served from a daemon thread: the lifecycle every built-in
    server shares (start, stop, its origin). Thread-safe to stop from any thread.

    Args:
        respond: answers each request (see `SandboxServer`).
        stats: where answers are counted.
        port: TCP port (0 = any free port).
        name: the serving thread's name prefix.
    """

    def __init__(self, respond: Responder, stats: SandboxStats, *, port: int, name: str) -> None:
        self._respond = respond
        self._stats = stats
        self._port = port
        self._name = name
        self._server: SandboxServer | None = None
        self._thread: threading.Thread | None = None
        self.stopping = threading.Event()
        self.origin = ""

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> str:
        """Bind and serve (idempotent); the origin, e.g. "http://127.0.0.1:51234"."""
        if self._server is not None:
            return self.origin
        self.stopping.clear()
        server = SandboxServer((HOST, self._port), self._respond, self._stats, self.stopping)
        self._server = server
        self.origin = f"http://{HOST}:{server.server_address[1]}"
        self._thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            daemon=True,
            name=f"{self._name}:{server.server_address[1]}",
        )
        self._thread.start()
        return self.origin

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.close_connections()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None


class Served:
    """`start()`, `stop()` and `with` for a built-in server whose `_service` serves it and whose
    `url` says where (the Halo sandbox, the Benji sandbox)."""

    _service: LoopbackService

    @property
    def url(self) -> str:  # pragma: no cover - each server names its own
        raise NotImplementedError

    def start(self) -> str:
        """Bind 127.0.0.1 (the configured port), serve in a daemon thread, and return `url`."""
        self._service.start()
        return self.url

    def stop(self) -> None:
        """Stop serving and close every open connection (idempotent)."""
        self._service.stop()

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
