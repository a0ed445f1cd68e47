"""Pictures and movies, each served by id (an asset, a face, a render, a Live Photo's motion),
never by a path from the request: the path comes from the library's own rows. Werkzeug's
`send_file` answers Range requests (what <video> needs to play and seek) and conditional GETs."""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

import flask

from memories import service
from memories.store import one_row
from memories.web import settings, thumbs
from memories.web.context import add_routes, library


def register(app: flask.Flask) -> None:
    add_routes(
        app,
        "GET",
        (
            ("/faces/<id:face_id>/thumb.jpg", face_thumb),
            ("/photos/<id:asset_id>/view.jpg", photo_view),
            ("/photos/<id:asset_id>/grid.jpg", photo_grid),
            ("/photos/<id:asset_id>/original", photo_original),
            ("/photos/<id:asset_id>/motion", photo_motion),
            ("/renders/<id:render_id>/movie.mp4", render_movie),
            ("/renders/<id:render_id>/poster.jpg", render_poster),
        ),
    )


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


# Video types by suffix, not by the system's mime.types (which differs between machines and
# calls a .3gp "audio/3gpp"). A QuickTime .mov is named as such: Safari plays it by that name and
# Chromium and Firefox by its content.
VIDEO_TYPES = {
    ".mp4": "video/mp4",
    ".m4v": "video/mp4",
    ".mov": "video/quicktime",
    ".3gp": "video/3gpp",
    ".avi": "video/x-msvideo",
    ".mkv": "video/x-matroska",
    ".webm": "video/webm",
}


def _mimetype(path: Path) -> str:
    known = VIDEO_TYPES.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0]
    return known or "application/octet-stream"


def _send_original(path: Path) -> Any:
    response = _send(path, _mimetype(path), 0)
    response.headers["Content-Disposition"] = "inline"
    return response


def photo_original(asset_id: int) -> Any:
    """The file itself: a photo, or a video for the viewer's <video> (Range requests to seek)."""
    return _send_original(service.asset_path(library(), asset_id))


def photo_motion(asset_id: int) -> Any:
    """A Live Photo's motion file, found by its still's id."""
    sql = "SELECT path FROM asset_motion WHERE asset_id = ?"
    row = one_row(library().db, sql, (asset_id,), f"Photo {asset_id} is not a Live Photo.")
    return _send_original(Path(row["path"]))


def _render_path(render_id: int) -> Path:
    sql = "SELECT path FROM renders WHERE id = ?"
    return Path(one_row(library().db, sql, (render_id,), f"There is no movie {render_id}.")["path"])


def render_movie(render_id: int) -> Any:
    return _send(_render_path(render_id), "video/mp4", 0)


def render_poster(render_id: int) -> Any:
    return _send(_render_path(render_id).with_suffix(".jpg"), "image/jpeg", 60)
