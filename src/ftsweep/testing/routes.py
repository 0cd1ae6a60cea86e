"""Which route a request is, in which dialect, and what the service answers to it.

`locate` turns a method and target into a `Request`'s route (404 for anything else), and
`answer` runs it against the `Store`. Route kinds name the client call that makes them:
`files.create`, `files.retrieve`, `files.content`, `jobs.create`, `jobs.list`,
`jobs.retrieve`, `jobs.cancel`, `jobs.events`, `jobs.checkpoints`.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from ftsweep.testing import render
from ftsweep.testing.errors import Dialect, ServiceError, invalid
from ftsweep.testing.store import Store

#: The dated Azure API versions the stand-in serves (`?api-version=`).
AZURE_API_VERSIONS = ("2024-10-21", "2025-02-01-preview", "2025-04-01-preview")
_PREFIXES: tuple[tuple[str, Dialect], ...] = (
    ("/openai/v1/", "azure_v1"),
    ("/v1/", "openai"),
    ("/openai/", "azure"),
)
_ROUTES = (
    ("POST", re.compile(r"files"), "files.create"),
    ("GET", re.compile(r"files/(?P<id>[^/]+)"), "files.retrieve"),
    ("GET", re.compile(r"files/(?P<id>[^/]+)/content"), "files.content"),
    ("POST", re.compile(r"fine_tuning/jobs"), "jobs.create"),
    ("GET", re.compile(r"fine_tuning/jobs"), "jobs.list"),
    ("GET", re.compile(r"fine_tuning/jobs/(?P<id>[^/]+)"), "jobs.retrieve"),
    ("POST", re.compile(r"fine_tuning/jobs/(?P<id>[^/]+)/cancel"), "jobs.cancel"),
    ("GET", re.compile(r"fine_tuning/jobs/(?P<id>[^/]+)/events"), "jobs.events"),
    ("GET", re.compile(r"fine_tuning/jobs/(?P<id>[^/]+)/checkpoints"), "jobs.checkpoints"),
)


@dataclass(frozen=True)
class Request:
    """A routed request: what the handlers need and nothing of the socket."""

    dialect: Dialect
    kind: str
    ident: str
    query: list[tuple[str, str]]
    headers: Mapping[str, str]
    body: bytes


@dataclass(frozen=True)
class Response:
    status: int
    body: bytes
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()


def locate(method: str, target: str) -> tuple[Dialect, str, str, list[tuple[str, str]]]:
    """The dialect, route kind, path id and query of a request; 404 where no route matches."""
    parts = urlsplit(target)
    query = parse_qsl(parts.query, keep_blank_values=True)
    for prefix, dialect in _PREFIXES:
        if parts.path.startswith(prefix):
            rest = parts.path[len(prefix) :].rstrip("/")
            for verb, pattern, kind in _ROUTES:
                match = pattern.fullmatch(rest)
                if verb == method and match:
                    return dialect, kind, match.groupdict().get("id") or "", query
            raise _no_route(dialect)
    raise _no_route("openai")


def _no_route(dialect: Dialect) -> ServiceError:
    return ServiceError(404, "Resource not found", code="404" if dialect != "openai" else None)


def check_api_version(dialect: Dialect, query: list[tuple[str, str]]) -> None:
    """Azure's dated API answers 404 without `api-version`, 400 for one it does not serve."""
    if dialect != "azure":
        return
    version = dict(query).get("api-version")
    if version is None:
        raise ServiceError(404, "Resource not found", code="404")
    if version not in AZURE_API_VERSIONS:
        message = f"API version not supported: {version}"
        raise ServiceError(400, message, code="BadRequest", param="api-version")


def authorized(dialect: Dialect, headers: Mapping[str, str], api_key: str) -> bool:
    """OpenAI takes `Authorization: Bearer`; Azure takes `api-key` or a bearer (Entra) token."""
    bearer = headers.get("authorization", "")
    if bearer == f"Bearer {api_key}":
        return True
    return dialect != "openai" and headers.get("api-key") == api_key


def answer(store: Store, request: Request) -> Response:
    """Run the request's route; a `ServiceError` it raises is the caller's to render."""
    result = _HANDLERS[request.kind](store, request)
    if isinstance(result, bytes):
        return Response(200, result, "application/octet-stream")
    return Response(200, json.dumps(result).encode())


def _files_create(store: Store, request: Request) -> render.JsonObject:
    fields, upload = _multipart(request.headers.get("content-type", ""), request.body)
    if upload is None:
        raise invalid("Missing required parameter: 'file'.", "file", "missing_required_parameter")
    filename, content = upload
    record = store.add_file(filename, fields.get("purpose", ""), content, request.dialect)
    return render.file_object(record, store.now())


def _multipart(content_type: str, body: bytes) -> tuple[dict[str, str], tuple[str, bytes] | None]:
    """The text fields and the (filename, bytes) of the `file` field of a multipart body."""
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode()
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(head + body)
    fields: dict[str, str] = {}
    upload = None
    for part in message.iter_parts() if message.is_multipart() else ():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if not isinstance(name, str) or not isinstance(payload, bytes):
            continue
        if name == "file":
            upload = (part.get_filename() or "upload.jsonl", payload)
        else:
            fields[name] = payload.decode()
    return fields, upload


def _files_retrieve(store: Store, request: Request) -> render.JsonObject:
    record, now = store.file(request.ident)
    return render.file_object(record, now)


def _files_content(store: Store, request: Request) -> bytes:
    record, _ = store.file(request.ident)
    return render.file_content(record)


def _jobs_create(store: Store, request: Request) -> render.JsonObject:
    try:
        body = json.loads(request.body or b"{}")
    except ValueError:
        raise invalid("The request body is not valid JSON.", None, "invalid_json") from None
    if not isinstance(body, dict):
        raise invalid("The request body must be a JSON object.", None, "invalid_json")
    job, now = store.create_job(body, request.dialect)
    return render.job_object(job, now, request.dialect)


def _jobs_list(store: Store, request: Request) -> render.JsonObject:
    jobs, now = store.newest_jobs()
    wanted = _metadata_filter(request)
    kept = [job for job in jobs if _matches(job.spec.metadata or {}, wanted)]
    items = [render.job_object(job, now, request.dialect) for job in kept]
    return render.page(items, _limit(request.query), dict(request.query).get("after"))


def _metadata_filter(request: Request) -> dict[str, str]:
    """`metadata[k]=v` query pairs; Azure's dated API has no metadata and ignores them."""
    if request.dialect == "azure":
        return {}
    pattern = re.compile(r"metadata\[(?P<key>[^\]]+)\]")
    matches = ((pattern.fullmatch(name), value) for name, value in request.query)
    return {match["key"]: value for match, value in matches if match}


def _matches(metadata: Mapping[str, str], wanted: Mapping[str, str]) -> bool:
    return all(metadata.get(key) == value for key, value in wanted.items())


def _limit(query: list[tuple[str, str]]) -> int:
    raw = dict(query).get("limit", "20")
    if not raw.isdigit() or not 1 <= int(raw) <= 100:
        raise invalid(f"Invalid limit {raw!r}: it must be an integer from 1 to 100.", "limit")
    return int(raw)


def _jobs_retrieve(store: Store, request: Request) -> render.JsonObject:
    job, now = store.job(request.ident)
    return render.job_object(job, now, request.dialect)


def _jobs_cancel(store: Store, request: Request) -> render.JsonObject:
    job, now = store.cancel(request.ident)
    return render.job_object(job, now, request.dialect)


def _jobs_events(store: Store, request: Request) -> render.JsonObject:
    job, now = store.job(request.ident)
    events = render.event_objects(job, now)
    return render.page(events, _limit(request.query), dict(request.query).get("after"))


def _jobs_checkpoints(store: Store, request: Request) -> render.JsonObject:
    job, now = store.job(request.ident)
    checkpoints = render.checkpoint_objects(job, now)
    return render.page(checkpoints, _limit(request.query), dict(request.query).get("after"))


_HANDLERS: dict[str, Callable[[Store, Request], render.JsonObject | bytes]] = {
    "files.create": _files_create,
    "files.retrieve": _files_retrieve,
    "files.content": _files_content,
    "jobs.create": _jobs_create,
    "jobs.list": _jobs_list,
    "jobs.retrieve": _jobs_retrieve,
    "jobs.cancel": _jobs_cancel,
    "jobs.events": _jobs_events,
    "jobs.checkpoints": _jobs_checkpoints,
}
