"""What a request handler reaches for: its library connection, the app's cache and render jobs,
and the one exception that ends a request with a message for the user."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import flask

from memories.store import Library
from memories.web.jobs import JobRunner
from memories.web.state import LibraryCache


class UserError(Exception):
    """Ends a request with this status and a short message for the user (never internals)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_routes(app: flask.Flask, method: str, routes: Iterable[tuple[str, Callable[..., Any]]]) -> None:
    """Each (rule, view) of a route table, answering `method` only, named after its view."""
    for rule, view in routes:
        app.add_url_rule(rule, view.__name__, view, methods=[method])


def library() -> Library:
    """This request's library connection, opened on first use and closed when the request ends."""
    if "library" not in flask.g:
        flask.g.library = Library(flask.current_app.config["LIBRARY_PATH"], create=False)
    return flask.g.library  # type: ignore[no-any-return]


def cache() -> LibraryCache:
    return flask.current_app.extensions["memories.cache"]  # type: ignore[no-any-return]


def jobs() -> JobRunner:
    return flask.current_app.extensions["memories.jobs"]  # type: ignore[no-any-return]


def wants_json() -> bool:
    return "application/json" in (flask.request.headers.get("Accept") or "")
