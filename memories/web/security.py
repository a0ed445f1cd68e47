"""What keeps the page safe on a shared machine: CSRF tokens, Host and Origin checks, redirect targets.

The page is reachable by any web site the user visits (it can POST to 127.0.0.1), so every
state-changing request must carry a token that only our own pages know; DNS rebinding could let a
foreign site read our pages, so requests must also name us in their Host header. Files are served
by id only (an asset, a face, a render): no route takes a path from the request.
"""

from __future__ import annotations

import hmac
import secrets

from memories.web import settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Our pages run only our own script file: even if a name slipped past escaping, an injected
# <script> or onerror= would not run. Inline style stays allowed: the face boxes on the photo page
# and the justified grid's aspect ratios are placed with style="..." (style cannot run code).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; "
    "base-uri 'none'; form-action 'self'"
)


class CsrfGuard:
    """One random token per server process; our pages embed it, POSTs must send it back."""

    def __init__(self, token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)

    def valid(self, candidate: str | None) -> bool:
        return bool(candidate) and hmac.compare_digest(str(candidate).encode(), self.token.encode())


def host_name(host_header: str) -> str:
    """The host part of a Host header: "localhost:8765" -> "localhost", "[::1]:80" -> "[::1]"."""
    host = host_header.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def host_allowed(host_header: str | None, bound_host: str) -> bool:
    """Bound to loopback: only loopback names (defeats DNS rebinding). Bound elsewhere: any."""
    if bound_host not in LOOPBACK_NAMES:
        return True
    return host_header is not None and host_name(host_header) in LOOPBACK_NAMES


def origin_allowed(origin: str | None, host_header: str | None) -> bool:
    """A browser's Origin on a POST must be our own page (absent for some same-origin requests)."""
    if not origin:
        return True
    if origin == "null" or not host_header:
        return False
    return origin.split("://", 1)[-1].lower() == host_header.strip().lower()


def local_target(target: str | None, fallback: str) -> str:
    """A redirect target from a form, only when it is a path on this site: "/x", never "//evil",
    "http:", a backslash, or any control character (a CR or LF would start a new header)."""
    if (
        target
        and len(target) <= 2000
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
        and all(32 <= ord(c) != 127 for c in target)
    ):
        return target
    return fallback


def json_depth(text: str) -> int:
    """How deeply a JSON text nests, counted without parsing it (brackets outside strings)."""
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            deepest = max(deepest, depth)
            if deepest > settings.MAX_JSON_DEPTH:
                return deepest
        elif char in "]}":
            depth -= 1
    return deepest
