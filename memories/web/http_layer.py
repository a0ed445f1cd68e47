"""The little HTTP layer under the page: a request, a response, a router, and file streaming with Range.

Small on purpose: WSGI from the standard library is all the page needs, so it carries no web
framework as a dependency.
"""

from __future__ import annotations

import json
import mimetypes
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from memories.web import settings


class HttpError(Exception):
    """Ends a request with this status and a short message for the user."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass
class Request:
    environ: dict[str, Any]
    method: str
    path: str
    query: dict[str, list[str]]
    _form: dict[str, list[str]] | None = None

    @classmethod
    def from_environ(cls, environ: dict[str, Any]) -> Request:
        # PATH_INFO arrives as latin-1 decoded bytes (PEP 3333); the URL itself was UTF-8.
        raw = environ.get("PATH_INFO", "/") or "/"
        try:
            path = raw.encode("latin-1").decode("utf-8")
        except UnicodeError:
            path = raw
        return cls(
            environ=environ,
            method=environ.get("REQUEST_METHOD", "GET").upper(),
            path=path,
            query=parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True),
        )

    def arg(self, name: str, default: str = "") -> str:
        values = self.query.get(name)
        return values[0] if values else default

    def header(self, name: str) -> str | None:
        key = "HTTP_" + name.upper().replace("-", "_")
        if name.lower() == "content-type":
            key = "CONTENT_TYPE"
        value = self.environ.get(key)
        return str(value) if value else None

    @property
    def form(self) -> dict[str, list[str]]:
        if self._form is None:
            try:
                length = int(self.environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = 0
            if length > settings.MAX_FORM_BYTES:
                raise HttpError(413, "request body too large")
            body = self.environ["wsgi.input"].read(length) if length > 0 else b""
            content_type = (self.header("content-type") or "").split(";")[0].strip()
            if content_type == "application/json" and body:
                data = json.loads(body.decode("utf-8"))
                self._form = {str(k): [str(v)] for k, v in data.items()} if isinstance(data, dict) else {}
            else:
                self._form = parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True)
        return self._form

    def field(self, name: str, default: str = "") -> str:
        values = self.form.get(name)
        return values[0] if values else default

    def wants_json(self) -> bool:
        return "application/json" in (self.header("accept") or "")


@dataclass
class Response:
    status: int = 200
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: Iterable[bytes] = ()

    @classmethod
    def html(cls, text: str, status: int = 200) -> Response:
        return cls(status, [("Content-Type", "text/html; charset=utf-8")], [text.encode("utf-8")])

    @classmethod
    def text(cls, text: str, status: int = 200) -> Response:
        return cls(status, [("Content-Type", "text/plain; charset=utf-8")], [text.encode("utf-8")])

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        body = json.dumps(data, ensure_ascii=False, default=str).encode("utf-8")
        return cls(
            status,
            [("Content-Type", "application/json; charset=utf-8"), ("Cache-Control", "no-store")],
            [body],
        )

    @classmethod
    def redirect(cls, location: str, status: int = 303) -> Response:
        return cls(status, [("Location", location)], [])

    def status_line(self) -> str:
        try:
            return f"{self.status} {HTTPStatus(self.status).phrase}"
        except ValueError:
            return f"{self.status} Unknown"


def local_target(target: str, fallback: str) -> str:
    """A redirect target from a form, only when it stays on this site ("/x", never "//evil" or "http:")."""
    if target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target:
        return target
    return fallback


Handler = Callable[..., Response]


class Router:
    """Routes like "/people/<int:person_id>" to handlers; the parameters arrive as keyword arguments."""

    _PARAM = re.compile(r"<(int|str):([a-z_]+)>")

    def __init__(self) -> None:
        self.routes: list[tuple[str, re.Pattern[str], Handler]] = []

    def add(self, method: str, pattern: str, handler: Handler) -> None:
        def group(match: re.Match[str]) -> str:
            kind, name = match.groups()
            return f"(?P<{name}>[0-9]+)" if kind == "int" else f"(?P<{name}>[^/]+)"

        regex = re.compile("^" + self._PARAM.sub(group, pattern) + "$")
        self.routes.append((method, regex, handler))

    def get(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add("GET", pattern, handler)
            return handler

        return register

    def post(self, pattern: str) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add("POST", pattern, handler)
            return handler

        return register

    def match(self, method: str, path: str) -> tuple[Handler, dict[str, Any]]:
        allowed = False
        lookup = "GET" if method == "HEAD" else method
        for route_method, regex, handler in self.routes:
            found = regex.match(path)
            if not found:
                continue
            if route_method != lookup:
                allowed = True
                continue
            params = {
                k: int(v) if v.isdigit() and k.endswith("_id") else v for k, v in found.groupdict().items()
            }
            return handler, params
        if allowed:
            raise HttpError(405, f"{method} is not allowed here")
        raise HttpError(404, f"nothing at {path}")


def parse_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The one byte range [start, end] (inclusive) a Range header asks for; None for the whole file.

    Raises HttpError(416) when the range lies outside the file. Several ranges in one header are
    answered with the whole file, which RFC 9110 allows and no <video> element asks for.
    """
    if not header or not header.startswith("bytes=") or "," in header:
        return None
    spec = header[len("bytes=") :].strip()
    first, _, last = spec.partition("-")
    try:
        if first == "":
            length = int(last)
            if length <= 0:
                raise HttpError(416, "empty suffix range")
            return max(size - length, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size or end < start:
        raise HttpError(416, f"range {spec} is outside the file ({size} bytes)")
    return start, min(end, size - 1)


def _chunks(path: Path, start: int, length: int) -> Iterator[bytes]:
    with open(path, "rb") as stream:
        stream.seek(start)
        left = length
        while left > 0:
            block = stream.read(min(settings.STREAM_CHUNK_BYTES, left))
            if not block:
                return
            left -= len(block)
            yield block


def file_response(
    path: Path, request: Request, content_type: str | None = None, cache_s: int = 0
) -> Response:
    """A file, whole or the byte range the request asks for (what <video> needs to play and seek)."""
    stat = path.stat()
    size = stat.st_size
    content_type = content_type or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    headers = [
        ("Content-Type", content_type),
        ("Accept-Ranges", "bytes"),
        ("Last-Modified", formatdate(stat.st_mtime, usegmt=True)),
        ("Cache-Control", f"private, max-age={cache_s}" if cache_s else "no-cache"),
    ]
    try:
        wanted = parse_range(request.header("range"), size)
    except HttpError:
        return Response(416, [("Content-Range", f"bytes */{size}"), ("Content-Type", "text/plain")], [b""])
    if wanted is None:
        start, length, status = 0, size, 200
    else:
        start, end = wanted
        length, status = end - start + 1, 206
        headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    headers.append(("Content-Length", str(length)))
    body: Iterable[bytes] = [] if request.method == "HEAD" else _chunks(path, start, length)
    return Response(status, headers, body)
