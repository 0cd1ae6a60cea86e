"""`StandIn`: the fine-tuning service on 127.0.0.1, in a daemon thread, faults included."""

from __future__ import annotations

import json
import secrets
import socket
import sys
import threading
import time
from collections import Counter
from collections.abc import Collection
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType

from ftsweep.testing.clock import Clock, ManualClock, SystemClock
from ftsweep.testing.errors import Dialect, ServiceError, unauthorized
from ftsweep.testing.faults import Fault, FaultPlan
from ftsweep.testing.lifecycle import JobRecord
from ftsweep.testing.outcomes import OutcomeFn, default_outcome
from ftsweep.testing.routes import (
    Request,
    Response,
    answer,
    authorized,
    check_api_version,
    locate,
)
from ftsweep.testing.store import FailFn, FileRecord, RequestRecord, Settings, Store

#: Base models the stand-in fine-tunes unless told otherwise.
DEFAULT_MODELS = (
    "gpt-4.1-2025-04-14",
    "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano-2025-04-14",
    "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18",
    "o4-mini-2025-04-16",
)


class StandIn:
    """A local fine-tuning service that the real `openai` clients can drive.

    `with StandIn(clock=ManualClock()) as service:` serves OpenAI's routes at `base_url`,
    Azure's at `azure_endpoint`, accepts `api_key`, and moves jobs on when `advance` is called
    (with the default `SystemClock`, each phase lasts `phase_seconds` of real time).
    """

    def __init__(
        self,
        *,
        clock: Clock | None = None,
        phase_seconds: float = 0.2,
        models: Collection[str] = DEFAULT_MODELS,
        outcome: OutcomeFn = default_outcome,
        fail_when: FailFn | None = None,
        api_key: str | None = None,
        organization: str = "org-standin",
        port: int = 0,
    ) -> None:
        if phase_seconds <= 0:
            raise ValueError(f"phase_seconds > 0 must hold, but got {phase_seconds}")
        self.clock = clock if clock is not None else SystemClock()
        self.api_key = api_key or f"sk-standin-{secrets.token_hex(8)}"
        self.faults = FaultPlan()
        settings = Settings(models, outcome, fail_when, phase_seconds, organization)
        self.store = Store(settings, self.clock)
        self._server = _Server(("127.0.0.1", port), _Handler, self)
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """For `openai.OpenAI(base_url=...)`."""
        return f"http://127.0.0.1:{self.port}/v1"

    @property
    def azure_endpoint(self) -> str:
        """For `openai.AzureOpenAI(azure_endpoint=...)`; Azure v1 is at `{this}/openai/v1`."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> StandIn:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name="ftsweep-standin",
                daemon=True,
            )
            self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving and release the port; safe to call twice."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> StandIn:
        return self.start()

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def advance(self, seconds: float) -> None:
        """Move a manual clock on by `seconds`; a real clock cannot be moved."""
        if not isinstance(self.clock, ManualClock):
            raise TypeError("advance() needs StandIn(clock=ManualClock())")
        self.clock.advance(seconds)

    def inject(self, *faults: Fault) -> None:
        """Queue faults; each is used up once it has fired (see `ftsweep.testing.faults`)."""
        self.faults.add(*faults)

    @property
    def requests(self) -> list[RequestRecord]:
        with self.store.lock:
            return list(self.store.requests)

    def counts(self) -> Counter[str]:
        """Requests seen per route kind, faulted and refused ones included."""
        return self.store.counts()

    @property
    def jobs(self) -> list[JobRecord]:
        """Every job created so far, oldest first."""
        with self.store.lock:
            return list(self.store.jobs.values())

    @property
    def files(self) -> list[FileRecord]:
        with self.store.lock:
            return list(self.store.files.values())


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[_Handler], service: StandIn) -> None:
        super().__init__(address, handler)
        self.service = service

    def handle_error(self, request: object, client_address: object) -> None:
        """A client that went away (killed, timed out) is no error of the service's: quiet."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)  # type: ignore[arg-type]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        """Headers and body leave as separate writes: without TCP_NODELAY each waits ~40 ms."""
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def log_message(self, format: str, *args: object) -> None:
        """Quiet: the request log is `StandIn.requests`."""

    def _serve(self, method: str) -> None:
        body = self._read_body()
        dialect: Dialect = "openai"
        kind = "unknown"
        try:
            dialect, kind, ident, query = locate(method, self.path)
            request = Request(dialect, kind, ident, query, self._headers(), body)
            response, fault = self._respond_to(request)
        except ServiceError as error:
            response, fault = _error_response(error, dialect), None
        dropped = fault is not None and fault.kind == "drop_after_create"
        self._log(method, kind, dialect, 0 if dropped else response.status)
        if fault is not None and fault.kind == "delay":
            time.sleep(fault.seconds)
        if dropped:
            self.close_connection = True
        else:
            self._send(response)

    def _respond_to(self, request: Request) -> tuple[Response, Fault | None]:
        """The answer, and the fault that decides how (or whether) it is sent."""
        service = self.server.service
        check_api_version(request.dialect, request.query)
        if not authorized(request.dialect, request.headers, service.api_key):
            raise unauthorized(request.dialect)
        fault = service.faults.take(request.kind)
        if fault is not None and fault.kind == "status":
            return _fault_response(fault, request.dialect), fault
        if fault is not None and fault.kind == "slow_create":
            time.sleep(fault.seconds)
        return answer(service.store, request), fault

    def _headers(self) -> dict[str, str]:
        return {name.lower(): value for name, value in self.headers.items()}

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            return self._read_chunks()
        length = int(self.headers.get("content-length") or 0)
        return self.rfile.read(length) if length else b""

    def _read_chunks(self) -> bytes:
        chunks = []
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            chunks.append(self.rfile.read(size))
            self.rfile.readline()
        while self.rfile.readline() not in (b"\r\n", b"\n", b""):
            pass
        return b"".join(chunks)

    def _log(self, method: str, kind: str, dialect: Dialect, status: int) -> None:
        path = self.path.split("?", 1)[0]
        self.server.service.store.log(RequestRecord(method, path, kind, dialect, status))

    def _send(self, response: Response) -> None:
        try:
            self.send_response(response.status)
            self.send_header("Content-Type", response.content_type)
            self.send_header("Content-Length", str(len(response.body)))
            for name, value in response.headers:
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(response.body)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True


def _error_response(error: ServiceError, dialect: Dialect) -> Response:
    return Response(error.status, json.dumps(error.body(dialect)).encode())


def _fault_response(fault: Fault, dialect: Dialect) -> Response:
    reason = f"The stand-in answered {fault.status_code} for {fault.route} (injected fault)."
    error = ServiceError(fault.status_code, reason, code=_FAULT_CODES.get(fault.status_code))
    response = _error_response(error, dialect)
    if fault.retry_after is None:
        return response
    return Response(
        response.status, response.body, headers=(("Retry-After", f"{fault.retry_after:g}"),)
    )


_FAULT_CODES = {429: "rate_limit_exceeded", 500: "server_error", 503: "service_unavailable"}
