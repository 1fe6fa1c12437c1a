"""The machinery every fake API shares: a threaded loopback HTTP server with scripted replies, latency and a
record of what it received."""

from __future__ import annotations

import email.policy
import hashlib
import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.parser import BytesParser
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs


@dataclass(frozen=True)
class Reply:
    """One scripted answer, used instead of the normal one for the next matching request.

    ``body`` None means: the API's own error body for ``status``, or the normal answer when ``status`` is 200.
    A dict or list is sent as JSON, a str as text, bytes as they are.
    """

    status: int = 200
    body: object = None
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0

    @property
    def replaces_answer(self) -> bool:
        return self.status != 200 or self.body is not None


@dataclass(frozen=True)
class UploadedFile:
    field: str
    filename: str
    content_type: str
    data: bytes


@dataclass(frozen=True)
class Incoming:
    """A request as the fake's routes see it."""

    method: str
    path: str
    headers: Mapping[str, str]
    json: Any
    fields: Mapping[str, tuple[str, ...]]
    files: tuple[UploadedFile, ...]
    # The query string's parameters (a GET's, as Stripe's SDK sends them).
    query: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    # When the whole request had arrived (time.monotonic()): latencies count from here, so the time the fake
    # takes to parse and answer is part of them rather than added to them.
    received_at: float = field(default_factory=time.monotonic)

    def field(self, name: str) -> str | None:
        values = self.fields.get(name)
        return values[0] if values else None


@dataclass
class ReceivedRequest:
    """What a test may assert on. ``status`` is None while the request is still being answered."""

    method: str
    path: str
    headers: Mapping[str, str]
    model: str | None
    json: Any
    fields: Mapping[str, tuple[str, ...]]
    file_name: str | None = None
    file_size: int | None = None
    file_sha256: str | None = None
    status: int | None = None


Answer = tuple[int, object, Mapping[str, str]]


class FakeAPIServer:
    """Subclasses define the routes, the authentication and the API's error body."""

    request_id_header = "x-request-id"

    def __init__(self, *, api_key: str, latency: float = 0.0) -> None:
        self.api_key = api_key
        self.latency = latency
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._replies: deque[tuple[str | None, Reply]] = deque()
        self._requests: list[ReceivedRequest] = []
        self._in_flight = 0
        self._max_in_flight = 0
        self._httpd: ThreadingHTTPServer | None = None
        self._request_ids = itertools.count(1)
        self._thread: threading.Thread | None = None

    # Life cycle

    def start(self) -> Self:
        handler = type("Handler", (_Handler,), {"server_fake": self})
        self._stopping.clear()
        self._httpd = _Server(("127.0.0.1", 0), handler)
        # A short poll interval makes stopping (once per test) quick.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.01}, name=type(self).__name__, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        # Wakes handlers sleeping on latency so that stopping never waits for them.
        self._stopping.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake server is not running")
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    # Scripting and inspection

    def enqueue(self, *replies: Reply, path: str | None = None) -> None:
        """Answer the next requests (to ``path`` only, if given) with these replies, in order."""
        with self._lock:
            self._replies.extend((path, reply) for reply in replies)

    @property
    def pending_replies(self) -> int:
        with self._lock:
            return len(self._replies)

    @property
    def requests(self) -> list[ReceivedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def max_in_flight(self) -> int:
        """The most requests that were being answered at once: proves (or bounds) client concurrency."""
        with self._lock:
            return self._max_in_flight

    def calls(self, path: str | None = None) -> int:
        with self._lock:
            return sum(1 for request in self._requests if path is None or request.path == path)

    def reset(self) -> None:
        with self._lock:
            self._requests.clear()
            self._replies.clear()
            self._max_in_flight = self._in_flight

    # For subclasses

    def is_authorized(self, headers: Mapping[str, str]) -> bool:
        raise NotImplementedError

    def error_body(self, status: int, message: str) -> object:
        raise NotImplementedError

    def answer(self, request: Incoming) -> Answer:
        raise NotImplementedError

    def error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> Answer:
        return status, self.error_body(status, message), headers or {}

    def wait_until(self, deadline: float) -> None:
        """Sleep until ``deadline`` (time.monotonic()), or until the server stops."""
        remaining = deadline - time.monotonic()
        if remaining > 0:
            self._stopping.wait(remaining)

    # Request handling, on the server's threads

    def _handle(self, handler: _Handler) -> None:
        incoming = _parse(handler)
        upload = incoming.files[0] if incoming.files else None
        model = incoming.json.get("model") if isinstance(incoming.json, dict) else incoming.field("model")
        record = ReceivedRequest(
            method=incoming.method,
            path=incoming.path,
            headers=incoming.headers,
            model=model if isinstance(model, str) else None,
            json=incoming.json,
            fields=incoming.fields,
            file_name=upload.filename if upload else None,
            file_size=len(upload.data) if upload else None,
            file_sha256=hashlib.sha256(upload.data).hexdigest() if upload else None,
        )
        with self._lock:
            self._requests.append(record)
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            self._respond(handler, incoming, record)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _respond(self, handler: _Handler, incoming: Incoming, record: ReceivedRequest) -> None:
        authorized = self.is_authorized(incoming.headers)
        reply = self._next_reply(incoming.path) if authorized else None
        self.wait_until(incoming.received_at + self.latency + (reply.delay if reply else 0.0))
        if not authorized:
            status, body, headers = self.error(401, "Invalid API key.")
        elif reply is not None and reply.replaces_answer:
            body = reply.body if reply.body is not None else self.error_body(reply.status, "Scripted failure.")
            status, headers = reply.status, reply.headers
        else:
            status, body, headers = self.answer(incoming)
            if reply is not None:
                headers = {**headers, **reply.headers}
        record.status = status
        request_id = f"req_fake{next(self._request_ids):06d}"
        _send(handler, status, body, {self.request_id_header: request_id, **headers})

    def _next_reply(self, path: str) -> Reply | None:
        with self._lock:
            for index, (wanted, reply) in enumerate(self._replies):
                if wanted is None or wanted == path:
                    del self._replies[index]
                    return reply
        return None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # Benchmarks send many chunks at once; the default backlog of 5 would refuse connections.
    request_queue_size = 128

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that gave up (a timeout test) is expected; nothing to report."""


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_fake: FakeAPIServer

    def do_POST(self) -> None:
        self.server_fake._handle(self)

    def do_GET(self) -> None:
        self.server_fake._handle(self)

    def do_DELETE(self) -> None:
        self.server_fake._handle(self)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _read_body(handler: BaseHTTPRequestHandler) -> bytes:
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks: list[bytes] = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = int(handler.headers.get("Content-Length") or 0)
    return handler.rfile.read(length) if length else b""


def _parse(handler: BaseHTTPRequestHandler) -> Incoming:
    body = _read_body(handler)
    received_at = time.monotonic()
    headers = {name.lower(): value for name, value in handler.headers.items()}
    content_type = headers.get("content-type", "")
    payload: Any = None
    fields: dict[str, tuple[str, ...]] = {}
    files: list[UploadedFile] = []
    if content_type.startswith("application/json") and body:
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
    elif content_type.startswith("multipart/form-data"):
        for part, data in _multipart(content_type, body):
            # Array fields arrive as ``name[]``; the API reads them as one list.
            name = str(part.get_param("name", header="content-disposition") or "").removesuffix("[]")
            filename = part.get_filename()
            if filename is not None:
                files.append(UploadedFile(name, filename, part.get_content_type(), data))
            else:
                fields[name] = (*fields.get(name, ()), data.decode())
    elif content_type.startswith("application/x-www-form-urlencoded"):
        fields = _form(body.decode())
    path, _, query = handler.path.partition("?")
    return Incoming(
        method=handler.command,
        path=path,
        headers=headers,
        json=payload,
        fields=fields,
        files=tuple(files),
        query=_form(query),
        received_at=received_at,
    )


def _multipart(content_type: str, body: bytes) -> list[tuple[EmailMessage, bytes]]:
    """The parts of a multipart body: each one's headers, parsed, and its bytes as sent.

    Only the headers go through the email parser: parsing megabytes of audio line by line would cost the fake
    more than a second of CPU per upload, time a benchmark would count as the provider's.
    """
    envelope = BytesParser(policy=email.policy.HTTP).parsebytes(f"Content-Type: {content_type}\r\n\r\n".encode())
    boundary = envelope.get_boundary()
    if not boundary:
        return []
    delimiter = b"--" + boundary.encode()
    parts = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break  # the closing delimiter
        head, _, data = chunk.removeprefix(b"\r\n").partition(b"\r\n\r\n")
        headers = BytesParser(policy=email.policy.HTTP).parsebytes(head + b"\r\n\r\n", headersonly=True)
        parts.append((headers, data.removesuffix(b"\r\n")))
    return parts


def _form(encoded: str) -> dict[str, tuple[str, ...]]:
    return {name: tuple(values) for name, values in parse_qs(encoded, keep_blank_values=True).items()}


def _send(handler: BaseHTTPRequestHandler, status: int, body: object, headers: Mapping[str, str]) -> None:
    if isinstance(body, bytes):
        data, content_type = body, "application/octet-stream"
    elif isinstance(body, str):
        data, content_type = body.encode(), "text/plain; charset=utf-8"
    else:
        data, content_type = json.dumps(body).encode(), "application/json"
    if any(name.lower() == "content-type" for name in headers):
        content_type = ""  # the route chose its own (a fake's HTML page)
    try:
        handler.send_response(status)
        if content_type:
            handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(data)))
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)
        handler.wfile.flush()
    except (BrokenPipeError, ConnectionResetError):
        handler.close_connection = True
