"""The web page over real HTTP (no browser): pages, escaping, files by id, CSRF, Host, redirects,
input limits, Range, the one search, thumbnails, render jobs.

Each test gets its own copy of a library built once from samples/photos (see tests/web_fixtures.py)
and the real server (waitress) on a free port of 127.0.0.1. Requests go on the wire exactly as
written (http.client), so a probe is not cleaned up by a client library first.
"""

from __future__ import annotations

import http.client
import json
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, urlencode

import pytest
from PIL import Image

from memories.store import Library
from memories.web import settings as web_settings
from memories.web.app import serve_in_thread
from memories.web.jobs import JobRunner
from memories.web.security import local_target

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


def _asset_ids(page: bytes) -> list[int]:
    return [int(i) for i in re.findall(r'data-asset-id="(\d+)"', page.decode())]


def _assert_friendly(status: int, body: bytes, *expected: int) -> None:
    """An error answer is a page for a person: the expected status, no trace, no exception name."""
    assert status in expected, (status, body[:300])
    for internal in (b"Traceback", b"Error:", b"sqlite", b'File "', b"OverflowError", b"KeyError"):
        assert internal not in body, (internal, body[:300])


def test_every_page_answers_for_the_built_library(client: Client, library_copy: BuiltLibrary) -> None:
    ana = library_copy.people["ana"]
    for path in (
        "/library",
        f"/photos/{library_copy.photos['together']}",
        "/people",
        f"/people/{ana}",
        "/places",
        "/search?q=Ana",
        "/memories",
    ):
        status, headers, page = client.get(path)
        assert status == 200, path
        assert headers["content-type"].startswith("text/html")
        assert headers["cache-control"] == "no-store", path  # pages are never cached
        assert "default-src 'self'" in headers["content-security-policy"]
        assert headers["x-frame-options"] == "DENY"
        assert b'name="viewport" content="width=device-width' in page
    status, headers, _ = client.get("/")
    assert status == 302 and headers["location"].endswith("/library")


def test_library_pages_through_every_photo_newest_first(client: Client, library_copy: BuiltLibrary) -> None:
    """The library grid, page after page by its cursor, is every visible photo once, newest first
    (checked against the rows sorted here in Python, not against the page's own SQL)."""
    with Library(library_copy.root, create=False) as library:
        rows = library.db.execute("SELECT id, taken_ts FROM assets WHERE hidden = 0").fetchall()
    dated = sorted((r for r in rows if r[1] is not None), key=lambda r: (r[1], r[0]), reverse=True)
    undated = sorted((r for r in rows if r[1] is None), key=lambda r: r[0], reverse=True)
    expected = [int(r[0]) for r in dated + undated]
    original = web_settings.LIBRARY_PAGE_SIZE
    seen: list[int] = []
    status, _, page = client.get("/library")
    assert status == 200
    seen += _asset_ids(page)
    assert len(seen) == min(original, len(expected))
    months = re.findall(r'<h2 class="month"[^>]*>([^<]+)</h2>', page.decode())
    assert months and all(re.fullmatch(r"[A-Z][a-z]+ \d{4}|Date unknown", m) for m in months)
    while (more := re.search(r'data-fragment="([^"]+)"', page.decode())) is not None:
        status, _, page = client.get(more.group(1).replace("&amp;", "&"))
        assert status == 200
        seen += _asset_ids(page)
    assert seen == expected
    # The scrubber jumps to a month: the page starts at that month's newest photo.
    month = next(
        m for m in re.findall(r'href="/library\?month=(\d{4}-\d{2})"', client.get("/library")[2].decode())
    )
    status, _, page = client.get(f"/library?month={month}")
    with Library(library_copy.root, create=False) as library:
        newest = library.db.execute(
            "SELECT id FROM assets WHERE hidden = 0 AND substr(taken_at, 1, 7) = ? "
            "ORDER BY taken_ts DESC, id DESC LIMIT 1",
            (month,),
        ).fetchone()[0]
    assert _asset_ids(page)[0] == newest
    _assert_friendly(*client.get("/library?month=2019-1x")[::2], 400)
    _assert_friendly(*client.get("/library?after=abc")[::2], 400)


def test_markup_is_text_everywhere(client: Client, library_copy: BuiltLibrary) -> None:
    """Stored XSS (a name) and reflected XSS (every query value a page echoes) come back as text."""
    for path in (
        "/people",
        f"/people/{library_copy.people['markup']}",
        f"/photos/{library_copy.photos['markup']}",
        "/search?" + urlencode({"q": XSS_NAME}),
    ):
        status, _, page = client.get(path)
        assert status in (200, 400)
        assert XSS_NAME.encode() not in page, path
        assert b"&lt;script&gt;alert(1)&lt;/script&gt;" in page, path
    probe = '"><img src=x onerror=alert(2)>'
    for name in ("q", "not", "place", "from", "mode"):
        status, _, page = client.get("/search?" + urlencode({name: probe}))
        assert b"<img src=x" not in page, name
    for path in ("/people?" + urlencode({"q": probe}), "/people?" + urlencode({"note": probe})):
        assert b"<img src=x" not in client.get(path)[2]
    status, _, page = client.get("/suggest?" + urlencode({"q": "<script"}), Accept="application/json")
    assert status == 200 and json.loads(page) == {"people": [XSS_NAME], "places": []}


def test_files_are_served_by_id_only(client: Client, library_copy: BuiltLibrary) -> None:
    """No route takes a path: every traversal probe on every route is a 404 (or 405), never a file."""
    import flask

    from memories.web.app import create_app

    secret = Path(library_copy.root) / "library.sqlite3"
    assert secret.exists()
    app: flask.Flask = create_app(library_copy.root)
    probes = [
        "..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e%2f%2e%2e%2flibrary.sqlite3",
        "..\\..\\library.sqlite3",
        quote(str(secret), safe=""),
        "1%00",
        "1/../../library.sqlite3",
    ]
    for rule in app.url_map.iter_rules():
        template = re.sub(r"<[^>]+>", "{}", rule.rule)
        for probe in probes:
            path = template.replace("{}", probe) if "{}" in template else template + "/" + probe
            status, _, body = client.get(path)
            assert status in (400, 404, 405), (rule.rule, path, status)
            assert b"SQLite format" not in body and b"root:x:" not in body, path
    for path in ("/files?path=/etc/passwd", "/files?" + urlencode({"path": str(secret)})):
        status, _, body = client.get(path)
        assert status == 404 and b"root:x:" not in body and b"SQLite" not in body
    for raw in ("/static/../app.py", "/static/..%2fapp.py", "/static/%2e%2e/pages.py", "/static/..%5capp.py"):
        status, _, body = client.get(raw)
        assert status == 404, raw
        assert b"import" not in body
    # What may be served is: an indexed photo (its original), by its id.
    with Library(library_copy.root, create=False) as library:
        photo = Path(
            library.db.execute(
                "SELECT path FROM assets WHERE id = ?", (library_copy.photos["ana"],)
            ).fetchone()[0]
        )
    status, headers, body = client.get(f"/photos/{library_copy.photos['ana']}/original")
    assert status == 200 and body == photo.read_bytes() and headers["content-type"] == "image/jpeg"


def test_malformed_ids_and_bodies_get_friendly_answers(client: Client, library_copy: BuiltLibrary) -> None:
    token = client.csrf()
    for path in (
        "/photos/99999999999999999999999999",
        "/photos/9223372036854775807",
        "/photos/-1",
        "/photos/abc",
        "/photos/" + quote("1 OR 1=1"),
        "/faces/999999999999999999/thumb.jpg",
        "/people/0",
        "/renders/5/movie.mp4",
        "/jobs/77",
        "/people/1?page=99999999999999999999",
    ):
        status, _, body = client.get(path)
        _assert_friendly(status, body, 404, 200)
    for path in ("/faces/99999999999/confirm", "/people/99999999999/name", "/faces/1e9/reject"):
        status, _, body = client.request("POST", path, {"csrf_token": token, "name": "X"})
        _assert_friendly(status, body, 404, 400)
    # A body over the limit is refused before it is read; a deeply nested JSON body before parsing.
    status, _, body = client.request(
        "POST", f"/people/{library_copy.people['unnamed']}/name",
        {"csrf_token": token, "name": "x" * (web_settings.MAX_FORM_BYTES + 10)},
    )  # fmt: skip
    _assert_friendly(status, body, 413)
    nested = "[" * 100_000 + "]" * 100_000
    connection = http.client.HTTPConnection("127.0.0.1", client.port, timeout=30)
    connection.request(
        "POST", "/people/undo", body=("{\"a\":" * 5000 + "1" + "}" * 5000).encode(),
        headers={"Host": f"127.0.0.1:{client.port}", "Content-Type": "application/json", "X-CSRF-Token": token},
    )  # fmt: skip
    response = connection.getresponse()
    _assert_friendly(response.status, response.read(), 400)
    connection.close()
    assert len(nested) > web_settings.MAX_FORM_BYTES  # too big to even be read: 413 as above
    # A name is at most 200 characters; the 60,000-character one is refused with a reason.
    status, _, body = client.request(
        "POST", f"/people/{library_copy.people['unnamed']}/name", {"csrf_token": token, "name": "N" * 60_000}
    )
    _assert_friendly(status, body, 400, 413)
    status, _, body = client.request(
        "POST", f"/people/{library_copy.people['unnamed']}/name", {"csrf_token": token, "name": "N" * 201}
    )
    _assert_friendly(status, body, 400)
    assert b"200" in body


def test_state_changes_need_post_the_token_and_our_origin(client: Client, library_copy: BuiltLibrary) -> None:
    cleo = library_copy.people["unnamed"]
    status, _, _ = client.get(f"/people/{cleo}/name?name=Cleo")
    assert status == 405
    status, _, body = client.request("POST", f"/people/{cleo}/name", {"name": "Cleo"})
    assert status == 403 and b"expired" in body
    status, _, _ = client.request("POST", f"/people/{cleo}/name", {"name": "Cleo", "csrf_token": "guess"})
    assert status == 403
    token = client.csrf()
    status, _, _ = client.request(
        "POST",
        f"/people/{cleo}/name",
        {"name": "Cleo", "csrf_token": token},
        {"Origin": "http://evil.example"},
    )
    assert status == 403
    with Library(library_copy.root, create=False) as library:
        assert library.db.execute("SELECT name FROM people WHERE id = ?", (cleo,)).fetchone()[0] is None
    # DNS rebinding: a page served under another host name is refused outright.
    assert client.request("GET", "/people", headers={"Host": "evil.example"})[0] == 400
    assert client.request("GET", "/people", headers={"Host": "evil.example:80"})[0] == 400


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/x",
        "https://evil.example/",
        "/people\r\nSet-Cookie: stolen=1",
        "/people\nLocation: https://evil.example/",
        "/people%0d%0aSet-Cookie:%20stolen=1",
        "/\\evil.example",
    ],
)
def test_next_never_leaves_the_site_nor_adds_a_header(
    client: Client, library_copy: BuiltLibrary, target: str
) -> None:
    cleo = library_copy.people["unnamed"]
    token = client.csrf()
    status, headers, _ = client.request(
        "POST", f"/people/{cleo}/name", {"name": "Cleo", "csrf_token": token, "next": target}
    )
    assert status == 303
    assert "set-cookie" not in headers
    location = headers["location"]
    assert (
        "\r" not in location
        and "\n" not in location
        and "evil" not in location.split("?")[0].replace("%0d%0a", "")
    )
    assert (
        location in (f"/people/{cleo}", target) and location.startswith("/") and not location.startswith("//")
    )
    assert local_target(target, "/x") in ("/x", target)


def test_a_thousand_word_search_is_refused_fast(client: Client) -> None:
    words = " ".join(f"word{i}" for i in range(1000))
    client.get("/search?q=Ana")  # the graph is loaded once per library state; not part of the timing
    started = time.perf_counter()
    status, _, body = client.get("/search?" + urlencode({"q": words}))
    elapsed_ms = 1000 * (time.perf_counter() - started)
    _assert_friendly(status, body, 400)
    assert b"at most 20 words" in body
    assert elapsed_ms < 100, elapsed_ms
    # Twenty unknown words are answered too (each named), also well under a second.
    started = time.perf_counter()
    status, _, body = client.get("/search?" + urlencode({"q": " ".join(f"nobody{i}" for i in range(20))}))
    assert status == 200 and body.count(b"no person named") == 20
    assert time.perf_counter() - started < 1.0


def test_the_page_and_the_cli_search_agree(client: Client, library_copy: BuiltLibrary) -> None:
    """One search: the page's answers are `memories search --json`'s, hidden people included (hidden)."""
    ana, ben = library_copy.people["ana"], library_copy.people["ben"]

    def cli(*arguments: str) -> list[int]:
        done = subprocess.run(
            [sys.executable, "-m", "memories", "search", *arguments, "--json", "--library", str(library_copy.root)],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        return [int(row["id"]) for row in json.loads(done.stdout)]

    def web(query: dict[str, str]) -> list[int]:
        status, _, page = client.get("/search?" + urlencode(query))
        assert status == 200
        return _asset_ids(page)

    with Library(library_copy.root, create=False) as library:
        photos_of = {p: _photos_of(library, p) for p in (ana, ben)}
    assert web({"q": "Ana"}) == cli("Ana") and set(web({"q": "Ana"})) >= photos_of[ana] - set()
    assert web({"q": f"Ana, {BEN}"}) == cli("Ana", BEN)
    assert web({"q": f"Ana {BEN}", "mode": "any"}) == cli("Ana", BEN, "--any")
    assert web({"q": "Ana", "not": BEN}) == cli("Ana", "--not", BEN)
    assert set(web({"q": "Ana", "not": BEN})) == photos_of[ana] - photos_of[ben]
    # A hidden person is found by neither.
    status, _, page = client.get("/search?" + urlencode({"q": STRANGER}))
    assert b"no person named" in page and not _asset_ids(page)
    # An unknown name's message is whole (its closing quote included) and suggests a close name.
    status, _, page = client.get("/search?" + urlencode({"q": "Anna"}))
    assert "no person named &#39;Anna&#39;; did you mean &#39;Ana&#39;?" in page.decode()
    # Dates: a range that holds none of the photos answers none.
    assert web({"q": "Ana", "from": "1990-01-01", "to": "1990-12-31"}) == []


def test_suggestions_as_you_type(client: Client) -> None:
    status, headers, body = client.get("/suggest?q=an", Accept="application/json")
    assert status == 200 and headers["content-type"].startswith("application/json")
    found = json.loads(body)
    assert found["people"][0] == "Ana" and STRANGER not in found["people"]
    assert json.loads(client.get("/suggest?q=STRAN")[2])["people"] == []


def test_thumbnails_are_cached_and_forgotten_with_their_photo(
    client: Client, library_copy: BuiltLibrary
) -> None:
    face = library_copy.faces["ana"]
    asset = library_copy.photos["ana"]
    status, _, first = client.get(f"/faces/{face}/thumb.jpg")
    assert status == 200 and first[:2] == b"\xff\xd8"
    with Library(library_copy.root, create=False) as library:
        cached = list((library.thumbs_dir / "faces").glob(f"{face}-*.jpg"))
        photo = Path(library.db.execute("SELECT path FROM assets WHERE id = ?", (asset,)).fetchone()[0])
    assert len(cached) == 1
    made = cached[0].stat().st_mtime_ns
    assert client.get(f"/faces/{face}/thumb.jpg")[2] == first and cached[0].stat().st_mtime_ns == made
    with Image.open(cached[0]) as image:
        assert image.size == (web_settings.FACE_THUMB_PX, web_settings.FACE_THUMB_PX)
    assert client.get(f"/photos/{asset}/view.jpg")[0] == 200
    # The user deletes the photo: neither its view nor its face is served from the cache any more.
    photo.rename(photo.with_suffix(".deleted"))
    try:
        for path in (f"/photos/{asset}/view.jpg", f"/faces/{face}/thumb.jpg", f"/photos/{asset}/original"):
            status, _, body = client.get(path)
            _assert_friendly(status, body, 404)
    finally:
        photo.with_suffix(".deleted").rename(photo)


def _make_clip(photo: Path, target: Path, seconds: float = 1.0) -> None:
    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-loop", "1", "-t", str(seconds),
            "-i", str(photo), "-vf", "scale=320:-2", "-r", "10", "-pix_fmt", "yuv420p", "-c:v", "libx264",
            "-y", str(target),
        ],
        check=True,
    )  # fmt: skip


def test_a_movie_is_served_by_its_render_id_with_ranges(
    client: Client, library_copy: BuiltLibrary, tmp_path: Path
) -> None:
    """A movie anywhere on disk (the demo writes to out/) plays from its render id; <video> reads
    it in byte ranges: 206 with Content-Range, suffix ranges, 416 past the end."""
    with Library(library_copy.root, create=False) as library:
        photo = Path(library.db.execute("SELECT path FROM assets LIMIT 1").fetchone()[0])
        video = tmp_path / "elsewhere" / "movie.mp4"
        video.parent.mkdir()
        _make_clip(photo, video)
        with library.transaction() as db:
            render_id = db.execute(
                "INSERT INTO renders (theme, key, signature, path) VALUES ('t', 'k', 's', ?)", (str(video),)
            ).lastrowid
    whole = video.read_bytes()
    url = f"/renders/{render_id}/movie.mp4"
    status, headers, body = client.get(url)
    assert status == 200 and body == whole and headers["accept-ranges"] == "bytes"
    assert headers["content-type"] == "video/mp4"
    status, headers, body = client.get(url, Range="bytes=100-199")
    assert status == 206 and body == whole[100:200]
    assert headers["content-range"] == f"bytes 100-199/{len(whole)}" and headers["content-length"] == "100"
    status, headers, body = client.get(url, Range="bytes=-50")
    assert status == 206 and body == whole[-50:]
    status, headers, _ = client.get(url, Range=f"bytes={len(whole)}-")
    assert status == 416
    status, headers, body = client.request("HEAD", url)
    assert status == 200 and body == b"" and headers["content-length"] == str(len(whole))


def test_renders_run_in_a_bounded_pool(library_copy: BuiltLibrary) -> None:
    import threading

    from memories.web.jobs import JobsBusy

    runner = JobRunner(library_copy.root)
    release = threading.Event()
    running = []

    def slow(library: Library, progress: object) -> dict[str, int]:
        running.append(threading.current_thread().name)
        progress(0.5)  # type: ignore[operator]
        release.wait(10)
        return {"photos": int(library.db.execute("SELECT COUNT(*) FROM assets").fetchone()[0])}

    first = runner.start("k0", slow)
    assert runner.start("k0", slow) is first  # one render per memory at a time
    queued = [runner.start(f"k{i}", slow) for i in range(1, web_settings.MAX_QUEUED_RENDERS)]
    with pytest.raises(JobsBusy):
        runner.start("one-too-many", slow)
    time.sleep(0.3)
    assert len(running) == web_settings.RENDER_WORKERS  # the others wait their turn
    assert all(job.state == "queued" for job in queued)
    release.set()
    deadline = time.time() + 20
    while any(job.active for job in [first, *queued]) and time.time() < deadline:
        time.sleep(0.02)
    assert (
        first.state == "done"
        and first.progress == 1.0
        and first.result == {"photos": len(library_copy.assets)}
    )

    def broken(library: Library, progress: object) -> dict[str, int]:
        raise RuntimeError("no photos for this memory")

    failed = runner.start("broken", broken)
    while failed.active and time.time() < deadline:
        time.sleep(0.02)
    assert failed.state == "failed" and failed.error == "RuntimeError: no photos for this memory"
    runner.shutdown()


def test_photo_viewer_shows_boxes_a_human_date_a_place_and_neighbours(
    client: Client, library_copy: BuiltLibrary
) -> None:
    from memories import service

    together = library_copy.photos["together"]
    with Library(library_copy.root, create=False) as library:
        photo = service.photo(library, together)
        order = [
            int(r[0])
            for r in library.db.execute(
                "SELECT id FROM assets WHERE hidden = 0 AND taken_ts IS NOT NULL ORDER BY taken_ts, id"
            )
        ]
        unknown = library.db.execute(
            "SELECT asset_id FROM observations WHERE person_id IS NULL AND is_clear = 1 AND source = 'detector' "
            "ORDER BY id"
        ).fetchone()
    status, _, page = client.get(f"/photos/{together}")
    text = page.decode()
    assert status == 200 and text.count('class="face-box') == len(photo["faces"])
    assert ">Ana<" in text and f">{BEN}<" in text
    for left, top, width, height in re.findall(
        r'style="left:([\d.]+)%;top:([\d.]+)%;width:([\d.]+)%;height:([\d.]+)%"', text
    ):
        assert float(left) + float(width) <= 100.001 and float(top) + float(height) <= 100.001
    # A human date, never the raw ISO text.
    assert photo["taken_at"] not in text
    from datetime import datetime

    taken = datetime.fromisoformat(photo["taken_at"])
    assert f"{taken:%A} {taken.day} {taken:%B} {taken.year}" in text
    # Earlier and later are the photos just before and after in time.
    at = order.index(together)
    before = order[at - 1] if at > 0 else None
    after = order[at + 1] if at + 1 < len(order) else None
    assert f'data-before="{before or ""}"' in text and f'data-after="{after or ""}"' in text
    assert unknown is not None
    assert "Who is this?" in client.get(f"/photos/{unknown[0]}")[2].decode()


def test_photo_page_names_the_place_the_graph_knows(client: Client, library_copy: BuiltLibrary) -> None:
    import graph as kg
    from memories.graph_store import load

    with Library(library_copy.root, create=False) as library:
        built = load(library)
    placed = [
        (attrs["id"], built.nodes[attrs["place"]]["label"])
        for _, attrs in built.nodes(data="kind" and True)
        if attrs.get("kind") == "asset" and attrs.get("place")
    ]
    assert placed, "no sample photo has a place"
    asset_id, label = placed[0]
    text = client.get(f"/photos/{asset_id}")[2].decode()
    assert f'class="place">{label}<' in text
    assert not re.search(r"\d+\.\d{4}, -?\d+\.\d{4}", text)  # no raw coordinates
    places_page = client.get("/places")[2].decode()
    assert label in places_page
    assert len(kg.frequent_places(built, limit=None)) >= 1


def test_serve_listens_on_loopback_until_stopped(library_copy: BuiltLibrary) -> None:
    """`serve` (what `memories serve` calls) prints its URL, answers on 127.0.0.1 and stops on SIGINT."""
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
    )  # fmt: skip
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        match = re.search(r"at (http://127\.0\.0\.1:(\d+)/)", line)
        assert match, line
        with urllib.request.urlopen(match.group(1) + "people", timeout=10) as response:
            assert response.status == 200 and b"Ana" in response.read()
            assert response.headers["Server"] == "memories"
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0


def test_pin_unmerge_and_memory_choices_through_the_page(client: Client, library_copy: BuiltLibrary) -> None:
    """Each one-click action writes the same rows the CLI's functions write."""
    from memories import memory_choices, people
    from memories.making import suggest

    token = client.csrf()
    bea, keep, gone = library_copy.people["bea"], library_copy.people["keep"], library_copy.people["gone"]
    status, _, _ = client.request("POST", f"/people/{bea}/pin", {"csrf_token": token, "pinned": "1"})
    assert status == 303
    page = client.get("/people")[2].decode()
    named = page.split('id="named"')[1]
    assert named.index(f'data-person-id="{bea}"') < named.index(
        f'data-person-id="{library_copy.people["ana"]}"'
    )
    client.request("POST", f"/people/{keep}/merge", {"csrf_token": token, "other": str(gone)})
    status, headers, _ = client.request(
        "POST", f"/people/{keep}/unmerge", {"csrf_token": token, "other": str(gone)}
    )
    assert status == 303 and headers["location"] == f"/people/{gone}"
    with Library(library_copy.root, create=False) as library:
        assert (min(keep, gone), max(keep, gone)) in people.different_pairs(library)
        assert people.list_people(library)[0].id == bea and people.list_people(library)[0].pinned
        first = suggest(library)[0]
    key = first["key"]
    assert (
        client.request(
            "POST", "/memories/edit", {"csrf_token": token, "key": key, "title": "Summer", "mood": "nope"}
        )[0]
        == 400
    )
    assert (
        client.request("POST", "/memories/edit", {"csrf_token": token, "key": key, "title": "Summer"})[0]
        == 303
    )
    assert client.request("POST", "/memories/hide", {"csrf_token": token, "key": key})[0] == 303
    with Library(library_copy.root, create=False) as library:
        choice = memory_choices.memory_choices(library)[key]
        assert choice.title == "Summer" and choice.hidden
    assert f'data-key="{key}"'.encode() not in client.get("/memories")[2]


def test_a_name_two_people_share_is_asked_about_not_guessed(client: Client, library_copy: BuiltLibrary) -> None:
    """"Who is this?" with a name two people carry: the page says so (400, "use an id") and confirms
    the face as nobody; the face stays where it was."""
    from memories import people

    token = client.csrf()
    ana, bea = library_copy.people["ana"], library_copy.people["bea"]
    wrong = library_copy.faces["wrong"]
    with Library(library_copy.root, create=False) as library:
        people.name_person(library, ana, "Sam")
        people.name_person(library, bea, "Sam")
        before = library.db.execute("SELECT person_id FROM observations WHERE id = ?", (wrong,)).fetchone()
    status, _, body = client.request("POST", f"/faces/{wrong}/name", {"csrf_token": token, "name": "sam"})
    assert status == 400
    assert "2 people are named" in body.decode() and "use an id" in body.decode()
    with Library(library_copy.root, create=False) as library:
        after = library.db.execute("SELECT person_id FROM observations WHERE id = ?", (wrong,)).fetchone()
        assert tuple(after) == tuple(before)
        confirmed = library.db.execute(
            "SELECT COUNT(*) FROM feedback_confirmations WHERE observation_id = ?", (wrong,)
        ).fetchone()[0]
        assert confirmed == 0
