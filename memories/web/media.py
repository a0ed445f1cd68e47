"""Pictures and movies, each served by id (an asset, a face, a render), never by a path from the
request: the path comes from the library's own rows. Werkzeug's `send_file` answers Range requests
(what <video> needs to play and seek) and conditional GETs."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import flask

from memories import service
from memories.web import settings, thumbs
from memories.web.context import library


def register(app: flask.Flask) -> None:
    for rule, view in (
        ("/faces/<id:face_id>/thumb.jpg", face_thumb),
        ("/photos/<id:asset_id>/view.jpg", photo_view),
        ("/photos/<id:asset_id>/grid.jpg", photo_grid),
        ("/photos/<id:asset_id>/original", photo_original),
        ("/renders/<id:render_id>/movie.mp4", render_movie),
        ("/renders/<id:render_id>/poster.jpg", render_poster),
    ):
        app.add_url_rule(rule, view.__name__, view, methods=["GET"])


def _send(path: Path, mimetype: str, max_age: int) -> Any:
    response = flask.send_file(path, mimetype=mimetype, conditional=True, max_age=max_age)
    response.headers["Cache-Control"] = f"private, max-age={max_age}"
    return response


def face_thumb(face_id: int) -> Any:
    return _send(thumbs.face_thumbnail(library(), face_id), "image/jpeg", 300)


def photo_view(asset_id: int) -> Any:
    return _send(thumbs.photo_copy(library(), asset_id, settings.PHOTO_VIEW_PX), "image/jpeg", 3600)


def photo_grid(asset_id: int) -> Any:
    return _send(thumbs.photo_copy(library(), asset_id, settings.PHOTO_GRID_PX), "image/jpeg", 3600)


def photo_original(asset_id: int) -> Any:
    path = service.asset_path(library(), asset_id)
    mimetype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    response = _send(path, mimetype, 0)
    response.headers["Content-Disposition"] = "inline"
    return response


def _render_path(render_id: int) -> Path:
    row = library().db.execute("SELECT path FROM renders WHERE id = ?", (render_id,)).fetchone()
    if row is None:
        raise LookupError(f"There is no movie {render_id}.")
    return Path(row["path"])


def render_movie(render_id: int) -> Any:
    return _send(_render_path(render_id), "video/mp4", 0)


def render_poster(render_id: int) -> Any:
    return _send(_render_path(render_id).with_suffix(".jpg"), "image/jpeg", 60)
