"""The WSGI app and the threaded server behind `memories serve`.

Each request opens its own Library connection (SQLite connections are not shared between threads;
WAL lets the page read while the CLI or a render writes) and closes it before the response body is
streamed, so a long video download holds no database handle.
"""

from __future__ import annotations

import socketserver
import sys
import threading
import traceback
import webbrowser
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import jinja2

from memories.people import PersonNotFound
from memories.store import Library
from memories.web import settings
from memories.web.http_layer import HttpError, Request, Response
from memories.web.jobs import JobRunner
from memories.web.security import CONTENT_SECURITY_POLICY, CsrfGuard, host_allowed, origin_allowed

PACKAGE_DIR = Path(__file__).resolve().parent
TEMPLATES_DIR = PACKAGE_DIR / "templates"
STATIC_DIR = PACKAGE_DIR / "static"

StartResponse = Callable[..., Any]


class WebApp:
    """The page as a WSGI callable: `WebApp(library_path)(environ, start_response)`."""

    def __init__(self, library_path: Path, bound_host: str = settings.DEFAULT_HOST) -> None:
        from memories.web.routes import router  # imported here: routes refer back to this module

        self.library_path = Path(library_path)
        # Fail at start, not on the first request, when the folder holds no library.
        Library(self.library_path, create=False).close()
        self.bound_host = bound_host
        self.csrf = CsrfGuard()
        self.jobs = JobRunner(self.library_path)
        self.router = router
        self.templates = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(TEMPLATES_DIR)),
            autoescape=True,  # every name and file name is text, never markup
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals["csrf_token"] = self.csrf.token
        self.templates.globals["job_poll_ms"] = settings.JOB_POLL_MS
        self.templates.globals["nav"] = ""

    def render(self, template: str, status: int = 200, **context: Any) -> Response:
        return Response.html(self.templates.get_template(template).render(**context), status)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = Request.from_environ(environ)
        response = self.respond(request)
        headers = [
            *response.headers,
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "same-origin"),
        ]
        if any(k == "Content-Type" and v.startswith("text/html") for k, v in response.headers):
            headers.append(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
            headers.append(("X-Frame-Options", "DENY"))
        start_response(response.status_line(), headers)
        return [] if request.method == "HEAD" else response.body

    def respond(self, request: Request) -> Response:
        if not host_allowed(request.header("host"), self.bound_host):
            return Response.text("unexpected Host header", 400)
        try:
            handler, params = self.router.match(request.method, request.path)
            if request.method == "POST":
                self._check_post(request)
            with Library(self.library_path, create=False) as library:
                return handler(self, request, library, **params)
        except HttpError as error:
            return self._error(request, error.status, error.message)
        except PersonNotFound as error:
            return self._error(request, 404, str(error).strip("'\""))
        except LookupError as error:
            return self._error(request, 404, str(error).strip("'\""))
        except ValueError as error:
            return self._error(request, 400, str(error))
        except OSError as error:  # a photo moved or deleted since it was indexed, or unreadable
            return self._error(request, 404, f"the file cannot be read: {error.strerror or error}")
        except Exception as error:  # a bug must not take the server down; the console gets the trace
            traceback.print_exc()
            return self._error(request, 500, f"{type(error).__name__}: {error}")

    def _check_post(self, request: Request) -> None:
        if not origin_allowed(request.header("origin"), request.header("host")):
            raise HttpError(403, "cross-site request refused")
        token = request.header("x-csrf-token") or request.field("csrf_token")
        if not self.csrf.valid(token):
            raise HttpError(403, "missing or wrong CSRF token; reload the page and try again")

    def _error(self, request: Request, status: int, message: str) -> Response:
        if request.wants_json() or request.path.startswith("/jobs/"):
            return Response.json({"error": message}, status)
        return self.render("error.html", status=status, status_code=status, message=message)


def create_app(library_path: Path, bound_host: str = settings.DEFAULT_HOST) -> WebApp:
    """The WSGI app for the library folder at `library_path`."""
    return WebApp(Path(library_path), bound_host)


class QuietHandler(WSGIRequestHandler):
    """One log line per request on stderr, without the reverse-DNS lookup wsgiref would do."""

    def address_string(self) -> str:
        return str(self.client_address[0])

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        if getattr(self.server, "quiet", False):
            return
        super().log_message(format, *args)


class ThreadingWSGIServer(socketserver.ThreadingMixIn, WSGIServer):
    """A thread per connection: a video streams while the page and its thumbnails load."""

    daemon_threads = True
    allow_reuse_address = True
    quiet = False


def make_web_server(app: WebApp, host: str, port: int, quiet: bool = False) -> ThreadingWSGIServer:
    """A started-but-not-serving server; port 0 picks a free port (see `server.server_port`)."""
    server = make_server(host, port, app, server_class=ThreadingWSGIServer, handler_class=QuietHandler)
    assert isinstance(server, ThreadingWSGIServer)
    server.quiet = quiet
    return server


def serve_in_thread(
    library_path: Path, host: str = settings.DEFAULT_HOST, port: int = 0
) -> ThreadingWSGIServer:
    """Start the page in a background thread (for tests and notebooks); stop with `.shutdown()`."""
    server = make_web_server(create_app(library_path, host), host, port, quiet=True)
    threading.Thread(target=server.serve_forever, name="memories-web", daemon=True).start()
    return server


def serve(
    library: Library,
    host: str = settings.DEFAULT_HOST,
    port: int = settings.DEFAULT_PORT,
    open_browser: bool = False,
) -> None:
    """Serve the page for `library` until Ctrl-C. Binds 127.0.0.1 unless told otherwise."""
    app = create_app(library.root, host)
    server = make_web_server(app, host, port)
    shown_host = "127.0.0.1" if host in ("0.0.0.0", "") else host
    url = f"http://{shown_host}:{server.server_port}/"
    print(f"memories: serving {library.root} at {url} (Ctrl-C to stop)", file=sys.stderr)
    if host not in ("127.0.0.1", "localhost", "::1"):
        print(
            f"memories: warning: listening on {host}: other machines on the network can see the page",
            file=sys.stderr,
        )
    if open_browser:
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
