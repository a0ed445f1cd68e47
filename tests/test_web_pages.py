"""The web page over real HTTP (no browser): escaping, path safety, CSRF, Range, search, thumbnails.

Each test gets its own copy of a library built once from samples/photos (see tests/web_fixtures.py)
and a threaded server on a free port of 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from PIL import Image

from memories import people
from memories.store import Library
from memories.web import settings as web_settings
from memories.web.app import serve_in_thread
from memories.web.jobs import JobRunner
from memories.web.routes import parse_names
from memories.web.security import servable_file

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_fixtures import (  # noqa: E402
    BEN,
    STRANGER,
    XSS_NAME,
    BuiltLibrary,
    copy_library,
    template_library,
)


@pytest.fixture(scope="session")
def built_library(indexed_samples: Path) -> BuiltLibrary:
    return template_library(indexed_samples)


@pytest.fixture
def library_copy(built_library: BuiltLibrary, tmp_path: Path) -> BuiltLibrary:
    return copy_library(built_library, tmp_path / "library")


class Client:
    """Raw HTTP against the running page: paths go on the wire exactly as written."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.token: str | None = None

    def request(
        self,
        method: str,
        path: str,
        body: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> tuple[int, dict[str, str], bytes]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        sent = {"Host": f"127.0.0.1:{self.port}", **(headers or {})}
        data = None
        if body is not None:
            data = urlencode(body).encode()
            sent.setdefault("Content-Type", "application/x-www-form-urlencoded")
        connection.request(method, path, body=data, headers=sent)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, payload

    def get(self, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
        return self.request("GET", path, headers={k.replace("_", "-"): v for k, v in headers.items()})

    def csrf(self) -> str:
        status, _, page = self.get("/people")
        assert status == 200
        marker = b'name="csrf-token" content="'
        start = page.index(marker) + len(marker)
        return page[start : page.index(b'"', start)].decode()


@pytest.fixture
def client(library_copy: BuiltLibrary) -> Iterator[Client]:
    server = serve_in_thread(library_copy.root)
    try:
        yield Client(server.server_port)
    finally:
        server.shutdown()
        server.server_close()


def _photos_of(library: Library, person_id: int) -> set[int]:
    rows = library.db.execute("SELECT asset_id FROM observations WHERE person_id = ?", (person_id,))
    return {int(r[0]) for r in rows}


def test_people_album_lists_named_unnamed_and_review(client: Client, library_copy: BuiltLibrary) -> None:
    from memories.web.queries import faces_to_review

    with Library(library_copy.root, create=False) as library:
        listed = people.list_people(library)
        review = faces_to_review(library)
    status, headers, page = client.get("/people")
    text = page.decode()
    assert status == 200 and headers["content-type"].startswith("text/html")
    # Named people by name, unnamed as "Person N" with a name form, the hidden one left out.
    named, unnamed = text.split('id="named-title"')[1].split('id="unnamed-title"')
    for person in listed:
        assert f'data-person-id="{person.id}"' in (named if person.name else unnamed), person
    assert ">Ana<" in named and ">Bea<" in named and f">{BEN}<" in named
    nameless = library_copy.people["unnamed"]
    assert f"Person {nameless}" in unnamed and f'action="/people/{nameless}/name"' in unnamed
    assert STRANGER not in text and f'data-person-id="{library_copy.people["hidden"]}"' not in text
    # What the library is unsure about is offered for review, above the named people.
    assert review, "the sample library has no face to review"
    for face in review:
        assert f'class="review-card" data-face-id="{face["id"]}"' in text.split('id="named-title"')[0]
    # Every key-face thumbnail the page links to is a real JPEG of FACE_THUMB_PX.
    status, headers, jpeg = client.get(f"/faces/{library_copy.faces['ana']}/thumb.jpg")
    assert status == 200 and headers["content-type"] == "image/jpeg" and jpeg[:2] == b"\xff\xd8"
    status, _, page = client.get("/people?hidden=1")
    assert STRANGER in page.decode()


def test_markup_in_a_name_is_escaped(client: Client, library_copy: BuiltLibrary) -> None:
    for path in (
        "/people",
        f"/people/{library_copy.people['markup']}",
        f"/photos/{library_copy.photos['markup']}",
    ):
        status, headers, page = client.get(path)
        assert status == 200
        assert XSS_NAME.encode() not in page, path
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
        assert "script-src" not in headers["content-security-policy"]  # default-src 'self' covers it
        assert "default-src 'self'" in headers["content-security-policy"]
    # Search echoes the query back: also as text.
    status, _, page = client.get("/search?" + urlencode({"q": '"><img src=x onerror=alert(2)>'}))
    assert b"<img src=x" not in page and b"&lt;img src=x onerror=alert(2)&gt;" in page


def test_only_files_inside_the_library_and_indexed_folders_are_served(
    client: Client, library_copy: BuiltLibrary, tmp_path: Path
) -> None:
    root = library_copy.root
    with Library(root, create=False) as library:
        photo = Path(
            library.db.execute(
                "SELECT path FROM assets WHERE id = ?", (library_copy.photos["ana"],)
            ).fetchone()[0]
        )
        renders = library.renders_dir
    secret = tmp_path / "outside" / "secret.jpg"
    secret.parent.mkdir()
    secret.write_bytes(b"\xff\xd8 not yours")
    (renders / "link.jpg").symlink_to(secret)
    (renders / "inside.mp4").write_bytes(b"\x00" * 64)
    refused = [
        str(root / "library.sqlite3"),  # the database sits in the library folder itself
        f"{renders}/../library.sqlite3",
        f"{renders}/../../outside/secret.jpg",
        str(secret),
        str(renders / "link.jpg"),  # a symlink out of an allowed folder
        "/etc/passwd",
        "../../../../etc/passwd",
        str(photo) + ".xmp",  # a sidecar next to a photo: not a media file
        f"{photo.parent}/../../../../pyproject.toml",
    ]
    for path in refused:
        status, _, body = client.get("/files?" + urlencode({"path": path}))
        assert status == 404, path
        assert b"not yours" not in body and b"SQLite" not in body
    for raw in (
        "/static/../app.py",
        "/static/..%2fapp.py",
        "/static/%2e%2e/routes.py",
        "/static/..%5capp.py",
    ):
        status, _, body = client.get(raw)
        assert status == 404, raw
        assert b"import" not in body
    # What may be served is served: an indexed photo and a file in renders/.
    status, _, body = client.get("/files?" + urlencode({"path": str(photo)}))
    assert status == 200 and body == photo.read_bytes()
    status, headers, _ = client.get("/files?" + urlencode({"path": str(renders / "inside.mp4")}))
    assert status == 200 and headers["content-type"] == "video/mp4"
    assert servable_file("relative/name.jpg", [renders]) is None


def test_state_changes_need_post_and_the_csrf_token(client: Client, library_copy: BuiltLibrary) -> None:
    cleo = library_copy.people["unnamed"]
    status, _, _ = client.get(f"/people/{cleo}/name?name=Cleo")
    assert status == 405
    status, _, body = client.request("POST", f"/people/{cleo}/name", {"name": "Cleo"})
    assert status == 403 and b"CSRF" in body
    status, _, _ = client.request("POST", f"/people/{cleo}/name", {"name": "Cleo", "csrf_token": "guess"})
    assert status == 403
    token = client.csrf()
    # The right token from a foreign page (its Origin) is still refused.
    status, _, _ = client.request(
        "POST",
        f"/people/{cleo}/name",
        {"name": "Cleo", "csrf_token": token},
        {"Origin": "http://evil.example"},
    )
    assert status == 403
    with Library(library_copy.root, create=False) as library:
        assert library.db.execute("SELECT name FROM people WHERE id = ?", (cleo,)).fetchone()[0] is None
    status, headers, _ = client.request(
        "POST", f"/people/{cleo}/name", {"name": "  Cleo  ", "csrf_token": token, "next": "//evil.example/x"}
    )
    assert status == 303 and headers["location"] == f"/people/{cleo}"  # an off-site "next" is ignored
    with Library(library_copy.root, create=False) as library:
        assert people.resolve_person(library, "cleo") == cleo
    # DNS rebinding: a page served under another host name is refused outright.
    status, _, _ = client.request("GET", "/people", headers={"Host": "evil.example"})
    assert status == 400


def test_range_requests_for_video(client: Client, library_copy: BuiltLibrary) -> None:
    """<video> reads MP4s in byte ranges: 206 with Content-Range, suffix ranges, 416 past the end."""
    import imageio_ffmpeg

    with Library(library_copy.root, create=False) as library:
        video = library.renders_dir / "clip.mp4"
        photo = Path(
            library.db.execute(
                "SELECT path FROM assets WHERE id = ?", (library_copy.photos["ana"],)
            ).fetchone()[0]
        )
    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(),
            "-loglevel",
            "error",
            "-loop",
            "1",
            "-t",
            "1",
            "-i",
            str(photo),
            "-vf",
            "scale=320:-2",
            "-r",
            "10",
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            "-y",
            str(video),
        ],
        check=True,
    )
    whole = video.read_bytes()
    url = "/files?" + urlencode({"path": str(video)})
    status, headers, body = client.get(url)
    assert status == 200 and body == whole and headers["accept-ranges"] == "bytes"
    status, headers, body = client.get(url, Range="bytes=100-199")
    assert status == 206 and body == whole[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(whole)}" and headers["content-length"] == "100"
    status, headers, body = client.get(url, Range="bytes=-50")
    assert status == 206 and body == whole[-50:]
    status, headers, body = client.get(url, Range="bytes=1000-")
    assert status == 206 and body == whole[1000:]
    status, headers, _ = client.get(url, Range=f"bytes={len(whole)}-")
    assert status == 416 and headers["content-range"] == f"bytes */{len(whole)}"
    status, headers, body = client.request("HEAD", url)
    assert status == 200 and body == b"" and headers["content-length"] == str(len(whole))


def test_search_all_or_any_and_close_matches(library_copy: BuiltLibrary, client: Client) -> None:
    ana, ben, nameless = (library_copy.people[k] for k in ("ana", "ben", "unnamed"))
    with Library(library_copy.root, create=False) as library:
        people.name_person(library, ben, "Ben Aaron")
        assert parse_names(library, "Ana Ben Aaron") == ([ana, ben], [])
        assert parse_names(library, "ben aaron, ANA") == ([ben, ana], [])
        ids, errors = parse_names(library, "Ana Anna")
        assert ids == [ana] and errors == ["no person named 'Anna'; did you mean 'Ana'?"]
        photos_of = {person: _photos_of(library, person) for person in (ana, ben, nameless)}
    # Ben was chosen as someone in a photo with Ana, and Ana has photos without him, so "all"
    # and "any" differ (in the samples nobody grouped beside Ana has photos of their own).
    both = photos_of[ana] & photos_of[ben]
    assert library_copy.photos["together"] in both
    assert photos_of[ana] - both

    def result_ids(query: dict[str, str]) -> set[int]:
        status, _, page = client.get("/search?" + urlencode(query))
        assert status == 200
        text = page.decode()
        return {int(part.split('"', 1)[0]) for part in text.split('data-asset-id="')[1:]}

    assert result_ids({"q": "Ana, Ben Aaron", "mode": "all"}) == both
    assert result_ids({"q": "Ana, Ben Aaron", "mode": "any"}) == photos_of[ana] | photos_of[ben]
    assert result_ids({"q": f"Ana Person {nameless}", "mode": "all"}) == photos_of[ana] & photos_of[nameless]
    assert result_ids({"q": f"Ana Person {nameless}", "mode": "any"}) == photos_of[ana] | photos_of[nameless]
    status, _, page = client.get("/search?" + urlencode({"q": "Anna"}))
    assert "did you mean &#39;Ana&#39;?" in page.decode()


def test_thumbnails_are_made_once_and_cached(client: Client, library_copy: BuiltLibrary) -> None:
    face = library_copy.faces["ana"]
    asset = library_copy.photos["ana"]
    status, _, first = client.get(f"/faces/{face}/thumb.jpg")
    assert status == 200
    with Library(library_copy.root, create=False) as library:
        cached = list((library.thumbs_dir / "faces").glob(f"{face}-*.jpg"))
    assert len(cached) == 1
    made = cached[0].stat().st_mtime_ns
    time.sleep(0.01)
    assert client.get(f"/faces/{face}/thumb.jpg")[2] == first and cached[0].stat().st_mtime_ns == made
    with Image.open(cached[0]) as image:
        assert image.size == (web_settings.FACE_THUMB_PX, web_settings.FACE_THUMB_PX)
    status, _, _ = client.get(f"/photos/{asset}/view.jpg")
    assert status == 200
    with Library(library_copy.root, create=False) as library:
        (view,) = (library.thumbs_dir / "photos").glob(f"*-{web_settings.PHOTO_VIEW_PX}.jpg")
    with Image.open(view) as image:
        assert max(image.size) <= web_settings.PHOTO_VIEW_PX
    assert client.get("/faces/999999/thumb.jpg")[0] == 404
    # A photo deleted since it was indexed: its pictures are a 404, not a server error.
    with Library(library_copy.root, create=False) as library, library.transaction() as db:
        db.execute(
            "UPDATE assets SET path = path || '.gone' WHERE id = ?", (library_copy.photos["ana_other"],)
        )
    assert client.get(f"/faces/{library_copy.faces['ana_other']}/thumb.jpg")[0] == 404
    assert client.get(f"/photos/{library_copy.photos['ana_other']}/view.jpg")[0] == 404
    assert client.get(f"/photos/{library_copy.photos['ana_other']}/original")[0] == 404
    assert client.get(f"/photos/{library_copy.photos['ana_other']}")[0] == 200


def test_actions_write_through_the_people_functions(client: Client, library_copy: BuiltLibrary) -> None:
    keep, gone, nameless, markup, ana = (
        library_copy.people[k] for k in ("keep", "gone", "unnamed", "markup", "ana")
    )
    wrong, confirm = library_copy.faces["wrong"], library_copy.faces["ana_other"]
    with Library(library_copy.root, create=False) as library:
        before = {p.id: p for p in people.list_people(library, include_hidden=True)}
        merged_photos = _photos_of(library, keep) | _photos_of(library, gone)
        wrong_owner = library.db.execute(
            "SELECT person_id FROM observations WHERE id = ?", (wrong,)
        ).fetchone()
    assert wrong_owner[0] == nameless
    token = client.csrf()
    assert client.request("POST", f"/faces/{wrong}/reject", {"csrf_token": token})[0] == 303
    assert (
        client.request("POST", f"/people/{keep}/merge", {"csrf_token": token, "other": str(gone)})[0] == 303
    )
    assert client.request("POST", f"/faces/{confirm}/confirm", {"csrf_token": token})[0] == 303
    assert client.request("POST", f"/people/{markup}/hide", {"csrf_token": token, "hidden": "1"})[0] == 303
    # The old page of a merged person leads to the person who absorbed them.
    status, headers, _ = client.get(f"/people/{gone}")
    assert status == 302 and headers["location"] == f"/people/{keep}"
    with Library(library_copy.root, create=False) as library:
        db = library.db
        assert (
            db.execute(
                "SELECT person_id FROM feedback_rejections WHERE observation_id = ?", (wrong,)
            ).fetchone()[0]
            == nameless
        )
        assert (
            db.execute(
                "SELECT into_person_id FROM feedback_merges WHERE from_person_id = ?", (gone,)
            ).fetchone()[0]
            == keep
        )
        assert (
            db.execute(
                "SELECT person_id FROM feedback_confirmations WHERE observation_id = ?", (confirm,)
            ).fetchone()[0]
            == ana
        )
    listed = json.loads(
        subprocess.run(
            [
                sys.executable,
                "-m",
                "memories",
                "people",
                "--json",
                "--hidden",
                "--library",
                str(library_copy.root),
            ],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])},
        ).stdout
    )
    by_id = {row["id"]: row for row in listed}
    # The merged person holds the faces and photos of both; the rejected face left its person.
    assert gone not in by_id and by_id[keep]["faces"] == before[keep].faces + before[gone].faces
    assert by_id[keep]["photos"] == len(merged_photos)
    assert by_id[nameless]["faces"] == before[nameless].faces - 1
    assert by_id[ana]["faces"] == before[ana].faces and by_id[markup]["hidden"] is True
    # Errors are pages with the reason, not tracebacks.
    status, _, body = client.request(
        "POST", f"/people/{keep}/merge", {"csrf_token": token, "other": "Nobody"}
    )
    assert status == 404 and b"no person named" in body


def test_job_runner_reports_progress_and_failures(library_copy: BuiltLibrary) -> None:
    runner = JobRunner(library_copy.root)

    def count_photos(library: Library, progress: object) -> dict[str, int]:
        for step in range(5):
            progress(step / 5)  # type: ignore[operator]
            time.sleep(0.02)
        return {"photos": int(library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0])}

    job = runner.start("count", count_photos)
    assert runner.start("count", count_photos) is job  # one render per memory at a time
    deadline = time.time() + 10
    while job.state == "running" and time.time() < deadline:
        time.sleep(0.02)
    assert job.as_dict()["state"] == "done" and job.result == {"photos": len(library_copy.assets)}
    assert job.progress == 1.0

    def broken(library: Library, progress: object) -> dict[str, int]:
        raise RuntimeError("no photos for this memory")

    failed = runner.start("broken", broken)
    while failed.state == "running" and time.time() < deadline:
        time.sleep(0.02)
    assert failed.state == "failed" and failed.error == "RuntimeError: no photos for this memory"


def test_photo_page_places_face_boxes(client: Client, library_copy: BuiltLibrary) -> None:
    import re

    from memories import service

    together = library_copy.photos["together"]
    with Library(library_copy.root, create=False) as library:
        faces = service.photo(library, together)["faces"]
        unknown = library.db.execute(
            "SELECT asset_id FROM observations WHERE person_id IS NULL AND is_clear = 1 ORDER BY id"
        ).fetchone()
    status, _, page = client.get(f"/photos/{together}")
    text = page.decode()
    assert status == 200 and text.count('class="face-box') == len(faces)
    assert ">Ana<" in text and f">{BEN}<" in text
    # Every box lies on the photo, also one the detector found cut by the photo's edge.
    for left, top, width, height in re.findall(
        r'style="left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"', text
    ):
        assert float(left) + float(width) <= 100.001 and float(top) + float(height) <= 100.001
    assert len(re.findall(r'class="face-box[^"]*"\s+style="left:[\d.]+%', text)) == len(faces)
    # A face nobody has been given asks who it is.
    assert unknown is not None
    status, _, page = client.get(f"/photos/{unknown[0]}")
    assert "Who is this?" in page.decode()
    assert client.get("/photos/99999")[0] == 404
    assert client.get("/photos/" + quote("1 OR 1=1"))[0] == 404


def test_serve_listens_on_loopback_until_stopped(library_copy: BuiltLibrary) -> None:
    """`serve` (what `memories serve` calls) prints its URL, answers on 127.0.0.1 and stops on SIGINT."""
    import re
    import signal
    import urllib.request

    code = (
        "import sys; from memories.store import Library; from memories.web.app import serve; "
        "serve(Library(sys.argv[1], create=False), port=0)"
    )
    # A suite started in the background (`make test &`) inherits SIGINT ignored, and Python keeps
    # it ignored in the child: give the server the default disposition a terminal would.
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(library_copy.root)], stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "people", timeout=10) as response:
            assert response.status == 200 and b"Ana" in response.read()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
