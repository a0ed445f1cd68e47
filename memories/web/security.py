"""What keeps the page safe on a shared machine: CSRF tokens, Host checks and which files may be served.

The page is reachable by any web site the user visits (it can POST to 127.0.0.1), so every
state-changing request must carry a token that only our own pages know; DNS rebinding could let a
foreign site read our pages, so requests must also name us in their Host header. Files are served
only from the folders the user indexed and the library's derived folders, after resolving symlinks.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Iterable
from pathlib import Path

from memories.web import settings

LOOPBACK_NAMES = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
# Our pages run only our own script file: even if a name slipped past escaping, an injected
# <script> or onerror= would not run. Inline style stays allowed: the face boxes on the photo page
# are placed with style="left:..%" (style cannot run code).
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data:; media-src 'self'; style-src 'self' 'unsafe-inline'; "
    "object-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
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


def servable_file(candidate: str | Path, roots: Iterable[Path]) -> Path | None:
    """The resolved file when it lies inside one of `roots` and has a media suffix, else None.

    Symlinks and `..` are resolved before the check, so neither can lead outside the roots.
    """
    try:
        path = Path(candidate)
        if not path.is_absolute() or "\x00" in str(candidate):
            return None
        resolved = path.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):
        return None
    if not resolved.is_file() or resolved.suffix.lower() not in settings.SERVABLE_SUFFIXES:
        return None
    for root in roots:
        try:
            if resolved.is_relative_to(root.resolve()):
                return resolved
        except OSError:
            continue
    return None
