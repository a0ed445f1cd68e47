"""The Flask app and the waitress server behind `memories serve`.

Each request opens its own Library connection (SQLite connections are not shared between threads;
WAL lets the page read while the CLI or a render writes) and closes it when the request ends.
Security lives here, around every route: the Host check (DNS rebinding), Origin and CSRF token on
every POST, the content security policy, `no-store` on pages, body size and JSON depth limits, and
error pages that never show internals (the console gets the trace).
"""

from __future__ import annotations

import contextlib
import logging
import sys
import threading
import traceback
import webbrowser
from pathlib import Path
from typing import Any

import flask
import jinja2
from werkzeug.exceptions import HTTPException
from werkzeug.routing import BaseConverter

from graph.names import AmbiguousPersonError
from memories.store import Library
from memories.web import actions, media, pages, settings
from memories.web.context import UserError, wants_json
from memories.web.jobs import JobRunner, JobsBusy
from memories.web.security import (
    CONTENT_SECURITY_POLICY,
    CsrfGuard,
    host_allowed,
    json_depth,
    origin_allowed,
)
from memories.web.state import LibraryCache

PACKAGE_DIR = Path(__file__).resolve().parent


class IdConverter(BaseConverter):
    """A row id in a URL: 1-18 digits, so every id fits SQLite's 64-bit integers (a longer one is
    a 404, not an overflow)."""

    regex = rf"[0-9]{{1,{settings.MAX_ID_DIGITS}}}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: Any) -> str:
        return str(int(value))


def create_app(library_path: Path, bound_host: str = settings.DEFAULT_HOST) -> flask.Flask:
    """The app for the library folder at `library_path` (a WSGI callable)."""
    library_path = Path(library_path)
    Library(library_path, create=False).close()  # fail at start when the folder holds no library
    app = flask.Flask(
        "memories.web",
        root_path=str(PACKAGE_DIR),
        static_folder="static",
        template_folder="templates",
    )
    app.config.update(
        LIBRARY_PATH=library_path,
        BOUND_HOST=bound_host,
        MAX_CONTENT_LENGTH=settings.MAX_FORM_BYTES,
        MAX_FORM_MEMORY_SIZE=settings.MAX_FORM_BYTES,
        SEND_FILE_MAX_AGE_DEFAULT=60,
        JSON_SORT_KEYS=False,
    )
    app.url_map.converters["id"] = IdConverter
    app.url_map.strict_slashes = False
    app.url_map.merge_slashes = False  # "//" in a path is a 404, not a redirect elsewhere
    app.jinja_env.undefined = jinja2.StrictUndefined
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    csrf = CsrfGuard()
    app.extensions["memories.csrf"] = csrf
    app.extensions["memories.cache"] = LibraryCache(library_path)
    app.extensions["memories.jobs"] = JobRunner(library_path)
    app.jinja_env.globals.update(csrf_token=csrf.token, job_poll_ms=settings.JOB_POLL_MS)
    pages.register(app)
    actions.register(app)
    media.register(app)

    @app.before_request
    def check_request() -> Any:
        if not host_allowed(flask.request.headers.get("Host"), bound_host):
            return flask.Response("unexpected Host header", 400, mimetype="text/plain")
        if flask.request.method == "POST":
            request = flask.request
            if not origin_allowed(request.headers.get("Origin"), request.headers.get("Host")):
                raise UserError(403, "This request came from another site and was refused.")
            if request.mimetype == "application/json":
                text = request.get_data(as_text=True)
                if json_depth(text) > settings.MAX_JSON_DEPTH:
                    raise UserError(400, "The request nests too deeply.")
            token = request.headers.get("X-CSRF-Token") or request.form.get("csrf_token")
            if not csrf.valid(token):
                raise UserError(403, "This form has expired: reload the page and try again.")
        return None

    @app.after_request
    def security_headers(response: flask.Response) -> flask.Response:
        response.headers["X-Content-Type-Options"] = "nosniff"
        response.headers["Referrer-Policy"] = "same-origin"
        if response.mimetype in ("text/html", "application/json"):
            response.headers["Cache-Control"] = "no-store"
        if response.mimetype == "text/html":
            response.headers["Content-Security-Policy"] = CONTENT_SECURITY_POLICY
            response.headers["X-Frame-Options"] = "DENY"
        return response

    @app.teardown_request
    def close_library(_: BaseException | None) -> None:
        opened = flask.g.pop("library", None)
        if opened is not None:
            opened.close()

    @app.errorhandler(UserError)
    def user_error(error: UserError) -> Any:
        return error_page(error.status, error.message)

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException) -> Any:
        messages = {
            404: "There is nothing here.",
            405: "That is not something this page can do.",
            413: "That request is too large.",
            400: "That request could not be understood.",
        }
        return error_page(error.code or 500, messages.get(error.code or 500, error.name))

    @app.errorhandler(JobsBusy)
    def busy(error: JobsBusy) -> Any:
        return error_page(503, str(error))

    @app.errorhandler(AmbiguousPersonError)
    def ambiguous(error: AmbiguousPersonError) -> Any:  # a name two people share: the user picks one
        return error_page(400, _message(error))

    @app.errorhandler(LookupError)
    def not_found(error: LookupError) -> Any:
        return error_page(404, _message(error))

    @app.errorhandler(ValueError)
    def bad_value(error: ValueError) -> Any:
        return error_page(400, _message(error))

    @app.errorhandler(OSError)
    def unreadable(error: OSError) -> Any:  # a photo moved or deleted since it was indexed
        print(f"memories: {error}", file=sys.stderr)
        return error_page(404, "The file cannot be read: it was moved or deleted.")

    @app.errorhandler(Exception)
    def bug(error: Exception) -> Any:  # a bug must not take the server down, nor show internals
        traceback.print_exception(error)
        return error_page(500, "Something went wrong. The details are in the console.")

    return app


def _message(error: BaseException) -> str:
    return str(error.args[0]) if error.args else type(error).__name__


def error_page(status: int, message: str) -> Any:
    if wants_json() or flask.request.path.startswith("/jobs/"):
        return flask.jsonify(error=message), status
    return flask.render_template("error.html", status_code=status, message=message, nav=""), status


class WebServer:
    """A waitress server on (host, port); port 0 picks a free port (see `server_port`)."""

    def __init__(self, app: flask.Flask, host: str, port: int, quiet: bool = False) -> None:
        from waitress.server import create_server

        self.app = app
        self.server = create_server(
            app,
            host=host,
            port=port,
            threads=settings.SERVER_THREADS,
            ident="memories",
            clear_untrusted_proxy_headers=True,
            expose_tracebacks=False,
        )
        if quiet:  # tests and notebooks: waitress's own notices ("Serving on ...") stay out of the way
            logging.getLogger("waitress").setLevel(logging.ERROR)
        self.server_port = int(self.server.effective_port)  # type: ignore[union-attr]
        self._stopping = threading.Event()
        self._stopped = threading.Event()
        self._stopped.set()

    def serve_forever(self) -> None:
        """Serve until `shutdown` (polling its flag twice a second), then close the sockets here,
        in the serving thread, so no poll ever sees a closed descriptor."""
        self._stopped.clear()
        try:
            while not self._stopping.is_set():
                self.server.asyncore.loop(timeout=0.5, map=self.server._map, count=1)  # type: ignore[union-attr]
        finally:
            self.server.close()
            self.server.task_dispatcher.shutdown()  # type: ignore[union-attr]
            self._stopped.set()

    def shutdown(self) -> None:
        self.app.extensions["memories.jobs"].shutdown()
        self.app.extensions["memories.cache"].close()
        self._stopping.set()
        self._stopped.wait(5)

    def server_close(self) -> None:  # kept for callers written against the stdlib server
        pass


def warm_up(app: flask.Flask) -> None:
    """Load the graph, compute the merge and memory suggestions before the first visit asks for them
    (seconds on a big library); a request that comes first waits for this one instead of
    computing them twice."""
    from memories.service import suggest_memories

    try:
        with Library(app.config["LIBRARY_PATH"], create=False) as opened:
            cache = app.extensions["memories.cache"]
            cache.graph(opened)
            cache.get(opened, "merge_pairs", pages.compute_merge_pairs)
            cache.get(opened, "memories", suggest_memories)
    except Exception as error:  # the pages compute it themselves, and say what went wrong
        print(f"memories: warm-up skipped: {error!r}", file=sys.stderr)


def serve_in_thread(library_path: Path, host: str = settings.DEFAULT_HOST, port: int = 0) -> WebServer:
    """Start the page in a background thread (for tests and notebooks); stop with `.shutdown()`."""
    server = WebServer(create_app(library_path, host), host, port, quiet=True)
    threading.Thread(target=server.serve_forever, name="memories-web", daemon=True).start()
    return server


def serve(
    library: Library,
    host: str = settings.DEFAULT_HOST,
    port: int = settings.DEFAULT_PORT,
    open_browser: bool = False,
) -> None:
    """Serve the page for `library` until Ctrl-C. Binds 127.0.0.1 unless told otherwise."""
    server = WebServer(create_app(library.root, host), host, port)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown_host}:{server.server_port}/"
    print(f"memories: serving {library.root} at {url} (Ctrl-C to stop)", file=sys.stderr)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"memories: warning: listening on {host}: other machines on the network can see the page",
            file=sys.stderr,
        )
    threading.Thread(target=warm_up, args=(server.app,), name="memories-warm-up", daemon=True).start()
    if open_browser:
        webbrowser.open(url)
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()
