"""Videos and Live Photos on the web page: badges in the grids, the viewer's <video> (by id, with
Range, started at ?t=), "seen at 0:01" for a video's people, a Live Photo's motion by id only, a
person's video tile that opens at the moment they appear; then in Chromium, the video plays and the
viewer fits a phone.

The library is made here in seconds (never from the shared data): a 4 s clip made with the bundled
ffmpeg from a sample photo (1.5 s of black, then Ana's face, with a tone for sound) and a Live
Photo (a still and its 2 s motion file paired by Apple's content identifier), indexed with faces by
the real pipeline; the face in the clip is named "Vic" as the photo page would.
"""

from __future__ import annotations

import http.client
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from memories.web import queries
from memories.web.app import WebServer, serve_in_thread

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_fixtures import SAMPLES, BuiltLibrary  # noqa: E402

BRUNCH = SAMPLES / "2019" / "2019-04-21 Easter brunch"
IDENTIFIER = "9B539AB8-A668-4FA6-9207-00000000C0DE"
VIC = "Vic"
CLIP_SECONDS = 4.0
FACE_FROM_S = 1.5  # the clip is black until then


# --- the library ----------------------------------------------------------------------------------
@dataclass
class VideoLibrary:
    root: Path
    video: int  # asset ids
    live: int
    clip: Path
    motion: Path
    face: int  # the clip's face track (named Vic)
    vic: int  # person id
    first_s: float  # when Vic appears in the clip


def _ffmpeg(*arguments: str) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", *arguments], check=True)


def make_clip(target: Path) -> Path:
    """4 s of 640x360 H.264 with AAC: black for 1.5 s, then Ana's photo (her face) on black."""
    _ffmpeg(
        "-f", "lavfi", "-i", f"color=c=black:s=640x360:r=25:d={FACE_FROM_S}",
        "-loop", "1", "-framerate", "25", "-t", str(CLIP_SECONDS - FACE_FROM_S), "-i", str(BRUNCH / "img1.jpg"),
        "-f", "lavfi", "-i", f"sine=frequency=440:duration={CLIP_SECONDS}",
        "-filter_complex",
        "[1:v]scale=-2:360,pad=640:360:(ow-iw)/2:0,setsar=1,format=yuv420p[p];"
        "[0:v]format=yuv420p,setsar=1[b];[b][p]concat=n=2:v=1:a=0[v]",
        "-map", "[v]", "-map", "2:a", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", "-shortest",
        "-movflags", "+faststart", "-metadata", "creation_time=2021-06-05T10:00:00Z", str(target),
    )  # fmt: skip
    return target


def make_live_photo(folder: Path) -> tuple[Path, Path]:
    """IMG_0042.JPG and IMG_0042.MOV (2 s, a slow zoom into the same photo), one content identifier."""
    still, motion = folder / "IMG_0042.JPG", folder / "IMG_0042.MOV"
    image = Image.open(BRUNCH / "img26.jpg").convert("RGB").resize((480, 720)).crop((0, 40, 480, 680))
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = "2021:06:05 12:00:00"  # DateTimeOriginal
    xmp = (
        '<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description xmlns:apple-fi="http://ns.apple.com/faceinfo/1.0/" '
        f'apple-fi:ContentIdentifier="{IDENTIFIER}"/></rdf:RDF></x:xmpmeta>'
    )
    image.save(still, "JPEG", quality=90, exif=exif, xmp=xmp.encode())
    _ffmpeg(
        "-loop", "1", "-framerate", "30", "-t", "2", "-i", str(still),
        "-vf", "zoompan=z='1+0.003*on':d=1:s=480x640:fps=30,format=yuv420p",
        "-c:v", "libx264", "-preset", "veryfast", "-an", "-movflags", "use_metadata_tags",
        "-metadata", f"com.apple.quicktime.content.identifier={IDENTIFIER}",
        "-metadata", "com.apple.quicktime.creationdate=2021-06-05T12:00:00+0200", str(motion),
    )  # fmt: skip
    return still, motion


def build_video_library(folder: Path) -> VideoLibrary:
    """The clip and the Live Photo indexed with faces and clustered; the clip's face named Vic."""
    from memories import people
    from memories.pipeline import cluster_and_graph, index_and_assign
    from memories.store import Library

    source = folder / "media"
    (source / "live").mkdir(parents=True)
    clip = make_clip(source / "clip.mp4")
    _, motion = make_live_photo(source / "live")
    root = folder / "library"
    with Library(root) as library:
        index_and_assign(library, [source])
        cluster_and_graph(library)
        kinds = {
            r["media_kind"]: int(r["id"]) for r in library.db.execute("SELECT id, media_kind FROM assets")
        }
        assert set(kinds) == {"video", "live"}, kinds
        track = library.db.execute(
            "SELECT id, first_s FROM observations WHERE asset_id = ? AND face_w IS NOT NULL "
            "ORDER BY face_w DESC LIMIT 1",
            (kinds["video"],),
        ).fetchone()
        assert track is not None, "no face found in the clip"
        vic = people.name_face(library, int(track["id"]), VIC)
    return VideoLibrary(
        root, kinds["video"], kinds["live"], clip, motion, int(track["id"]), vic, float(track["first_s"])
    )


@pytest.fixture(scope="module")
def videos(tmp_path_factory: pytest.TempPathFactory) -> VideoLibrary:
    return build_video_library(tmp_path_factory.mktemp("web-videos"))


@pytest.fixture(scope="module")
def server(videos: VideoLibrary) -> Iterator[WebServer]:
    running = serve_in_thread(videos.root)
    try:
        yield running
    finally:
        running.shutdown()


def get(server: WebServer, path: str, **headers: str) -> tuple[int, dict[str, str], bytes]:
    """A GET exactly as written (no client library cleaning the path up first)."""
    connection = http.client.HTTPConnection("127.0.0.1", server.server_port, timeout=30)
    connection.request("GET", path, headers={"Host": f"127.0.0.1:{server.server_port}", **headers})
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def page(server: WebServer, path: str) -> str:
    status, headers, body = get(server, path)
    assert status == 200, (path, status, body[:300])
    assert headers["content-type"].startswith("text/html")
    return body.decode()


def tag(html: str, pattern: str) -> str:
    """The one opening tag matching `pattern` (a regex over the tag's text)."""
    found = re.findall(rf"<{pattern}[^>]*>", html, re.S)
    assert len(found) == 1, (pattern, found)
    return found[0]


def attribute(element: str, name: str) -> str | None:
    match = re.search(rf'\s{name}(?:="([^"]*)")?', element)
    return None if match is None else (match.group(1) if match.group(1) is not None else "")


def test_times_read_as_clocks() -> None:
    assert [queries.clock(s) for s in (0, 3.9, 59.99, 61, 3725)] == [
        "0:00",
        "0:03",
        "0:59",
        "1:01",
        "1:02:05",
    ]
    assert [queries.duration_clock(s) for s in (0.2, 8.0, 9.18, 9.6, None)] == [
        "0:01",
        "0:08",
        "0:09",
        "0:10",
        "0:01",
    ]
    assert [queries.seek_param(s) for s in (0, 1.52, 2.3, 3.0, 12.5, None)] == [
        "0",
        "1.5",
        "2.3",
        "3",
        "12.5",
        "0",
    ]


# --- over HTTP ------------------------------------------------------------------------------------
def test_the_library_badges_videos_and_live_photos(server: WebServer, videos: VideoLibrary) -> None:
    html = page(server, "/library")
    video = re.search(rf'<a class="tile[^"]*" href="/photos/{videos.video}".*?</a>', html, re.S)
    live = re.search(rf'<a class="tile[^"]*" href="/photos/{videos.live}".*?</a>', html, re.S)
    assert video and live
    assert 'data-kind="video"' in video.group(0) and "▶ 0:04" in video.group(0)
    assert 'alt="Video of June 2021, 0:04 long"' in video.group(0)  # what a screen reader says
    assert 'data-kind="live"' in live.group(0) and ">LIVE<" in live.group(0)
    assert 'alt="Live Photo of June 2021"' in live.group(0)


def test_a_videos_page_plays_it_from_its_own_route(server: WebServer, videos: VideoLibrary) -> None:
    html = page(server, f"/photos/{videos.video}")
    video = tag(html, 'video id="video"')
    assert attribute(video, "src") == f"/photos/{videos.video}/original"
    assert attribute(video, "poster") == f"/photos/{videos.video}/view.jpg"
    assert attribute(video, "preload") == "metadata"
    for flag in ("controls", "playsinline"):
        assert attribute(video, flag) is not None, flag
    assert attribute(video, "data-start") is None
    assert 'class="face-box' not in html  # no boxes over a moving picture
    assert "In this video" in html and "Video, 0:04" in html
    # Vic is listed with when he is seen, a link that starts the video there.
    seen = tag(html, 'a class="seen-at"')
    t = queries.seek_param(videos.first_s)
    assert attribute(seen, "href") == f"/photos/{videos.video}?t={t}" and attribute(seen, "data-seek") == t
    assert f">seen at 0:0{int(videos.first_s)}</a>" in html
    assert f'href="/people/{videos.vic}" class="who">{VIC}</a>' in html


def test_t_starts_the_video_there_and_bad_values_start_it_at_the_beginning(
    server: WebServer, videos: VideoLibrary
) -> None:
    video = tag(page(server, f"/photos/{videos.video}?t=2.5"), 'video id="video"')
    assert attribute(video, "src") == f"/photos/{videos.video}/original#t=2.5"
    assert attribute(video, "data-start") == "2.5"
    video = tag(page(server, f"/photos/{videos.video}?t=99"), 'video id="video"')  # past the end: the end
    assert attribute(video, "data-start") == "4"
    for bad in ("abc", "-3", "0", "nan", "inf", "1e999", "%3Cscript%3E"):
        video = tag(page(server, f"/photos/{videos.video}?t={bad}"), 'video id="video"')
        assert attribute(video, "data-start") is None, bad
        assert attribute(video, "src") == f"/photos/{videos.video}/original", bad
    # A photo has no start: ?t= is ignored.
    html = page(server, f"/photos/{videos.live}?t=1")
    assert 'id="video"' not in html and "data-start" not in html


def test_the_video_route_answers_range_requests(server: WebServer, videos: VideoLibrary) -> None:
    data = videos.clip.read_bytes()
    path = f"/photos/{videos.video}/original"
    status, headers, body = get(server, path)
    assert status == 200 and body == data
    assert headers["content-type"] == "video/mp4" and headers["accept-ranges"] == "bytes"
    status, headers, body = get(server, path, Range="bytes=1000-1999")
    assert status == 206 and body == data[1000:2000]
    assert headers["content-range"] == f"bytes 1000-1999/{len(data)}"
    status, headers, body = get(server, path, Range="bytes=-500")  # the end (where a seek table may be)
    assert status == 206 and body == data[-500:]
    status, headers, _ = get(server, path, Range=f"bytes={len(data) + 10}-")
    assert status == 416


def test_a_live_photos_motion_is_served_by_its_id_only(server: WebServer, videos: VideoLibrary) -> None:
    data = videos.motion.read_bytes()
    status, headers, body = get(server, f"/photos/{videos.live}/motion")
    assert status == 200 and body == data and headers["content-type"] == "video/quicktime"
    status, _, body = get(server, f"/photos/{videos.live}/motion", Range="bytes=10-19")
    assert status == 206 and body == data[10:20]
    # A query naming a path is ignored; a path in the URL is no route; a video is no Live Photo.
    status, _, body = get(server, f"/photos/{videos.live}/motion?path=/etc/passwd")
    assert status == 200 and body == data
    for probe in (
        f"/photos/{videos.video}/motion",
        "/photos/999999/motion",
        "/photos/..%2f..%2fetc%2fpasswd/motion",
        f"/photos/{videos.live}/motion/..%2f..%2flibrary.sqlite3",
        "/photos/" + str(videos.motion).replace("/", "%2f") + "/motion",
    ):
        status, _, body = get(server, probe)
        assert status == 404, probe
        assert b"root:x:" not in body and b"SQLite format" not in body and body[4:8] != b"ftyp", probe


def test_a_live_photos_page_shows_the_still_with_a_live_control(
    server: WebServer, videos: VideoLibrary
) -> None:
    html = page(server, f"/photos/{videos.live}")
    assert attribute(tag(html, 'img src="[^"]*" alt="Live Photo[^"]*" id="photo"'), "src") == (
        f"/photos/{videos.live}/view.jpg"
    )
    motion = tag(html, 'video class="motion"')
    assert attribute(motion, "src") == f"/photos/{videos.live}/motion"
    for flag in ("muted", "playsinline"):
        assert attribute(motion, flag) is not None, flag
    assert attribute(motion, "controls") is None
    live = tag(html, 'a class="live-badge"')
    assert attribute(live, "role") == "button" and attribute(live, "aria-label") == "Play the Live Photo"
    assert attribute(live, "href") == f"/photos/{videos.live}/motion"  # without the script: the file


def test_a_persons_video_opens_where_they_appear(server: WebServer, videos: VideoLibrary) -> None:
    html = page(server, f"/people/{videos.vic}")
    t = queries.seek_param(videos.first_s)
    assert FACE_FROM_S - 0.5 <= videos.first_s <= FACE_FROM_S + 0.5  # the face is there from 1.5 s
    link = tag(html, f'a class="photo-link" href="/photos/{videos.video}[^"]*"')
    assert attribute(link, "href") == f"/photos/{videos.video}?t={t}"
    card = html[html.index(link) : html.index("</li>", html.index(link))]
    assert f'<span class="seen-at">at 0:0{int(videos.first_s)}</span>' in card
    assert "▶ 0:04" in card and f"{VIC} seen at 0:0{int(videos.first_s)}" in card
    # The search finds Vic's video, badged too.
    html = page(server, f"/search?q={VIC}")
    assert re.search(rf'<a href="/photos/{videos.video}" data-kind="video">.*?▶ 0:04', html, re.S)


def _jpeg(server: WebServer, path: str) -> Image.Image:
    status, headers, body = get(server, path)
    assert status == 200 and headers["content-type"] == "image/jpeg", (path, status)
    return Image.open(BytesIO(body))


def test_a_videos_pictures_are_its_frames(server: WebServer, videos: VideoLibrary) -> None:
    """The grid copy is a frame with the face in it (the clip starts black); the face thumbnail is
    cut from the frame the face was found in; a Live Photo's pictures are its still."""
    from memories.web import settings

    grid = _jpeg(server, f"/photos/{videos.video}/grid.jpg")
    assert grid.size == (settings.PHOTO_GRID_PX, settings.PHOTO_GRID_PX * 360 // 640)
    middle = grid.convert("L").crop((grid.width // 3, 0, 2 * grid.width // 3, grid.height))
    assert sum(middle.getdata()) / (middle.width * middle.height) > 40  # not the black opening
    face = _jpeg(server, f"/faces/{videos.face}/thumb.jpg")
    assert face.size == (settings.FACE_THUMB_PX, settings.FACE_THUMB_PX)
    assert sum(face.convert("L").getdata()) / face.width / face.height > 40
    view = _jpeg(server, f"/photos/{videos.video}/view.jpg")
    assert view.size == (640, 360)  # never enlarged
    still = _jpeg(server, f"/photos/{videos.live}/grid.jpg")
    assert still.size == (settings.PHOTO_GRID_PX * 480 // 640, settings.PHOTO_GRID_PX)


# --- in Chromium ----------------------------------------------------------------------------------
from test_web_browser import CHROMIUM  # noqa: E402
from test_web_browser import browser as browser  # noqa: E402, F401, F811  (the one Chromium fixture)


def _site(browser: Any, server: WebServer, videos: VideoLibrary, viewport: dict[str, int]) -> Any:
    from test_web_browser import PHONE, Site

    phone = viewport == PHONE
    context = browser.new_context(viewport=viewport, has_touch=phone, is_mobile=phone)
    library = BuiltLibrary(root=videos.root, people={}, faces={}, photos={})
    return Site(library, f"http://127.0.0.1:{server.server_port}", context, viewport)


PLAYS = """v => new Promise((done, fail) => {
    const from = v.currentTime;
    v.muted = true;
    v.addEventListener('timeupdate', () => { if (v.currentTime > from + 0.3) done([from, v.currentTime]); });
    v.addEventListener('error', () => fail(String(v.error && v.error.message)));
    v.play().catch(e => fail(String(e)));
})"""


FADED = "getComputedStyle(document.getElementById('motion')).opacity === '0'"  # the still is back


@pytest.mark.browser
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install -y chromium)")
def test_the_video_plays_and_the_viewer_fits_a_phone(
    browser: Any, server: WebServer, videos: VideoLibrary
) -> None:
    """At 390 px: the video plays (its time advances), starts at ?t=, "seen at" seeks it, the Live
    Photo's motion plays once on load, and nothing is wider than the screen; then each page at
    1366 px too. Screenshots of each for a person to look at."""
    from test_web_browser import LAPTOP, PHONE

    site = _site(browser, server, videos, PHONE)
    try:
        site.open(f"/photos/{videos.video}")
        video = site.page.locator("video#video")
        site.wait_until("document.getElementById('video').readyState >= 1")
        assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [640, 360]
        box = video.bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
        site.check_page("video-photo")  # its poster: the frame with the face
        start, now = video.evaluate(PLAYS)
        assert start == 0 and now > 0.3
        video.evaluate("v => v.pause()")
        assert site.page.locator("#video-problem").is_hidden()
        # "seen at" seeks the video to the moment and plays from there.
        site.page.locator("a.seen-at").first.click()
        t = queries.seek_param(videos.first_s)
        site.wait_until(f"document.getElementById('video').currentTime >= {t}")
        assert site.page.url.endswith(f"?t={t}")
        video.evaluate("v => v.pause()")
        # ?t= starts it there.
        site.open(f"/photos/{videos.video}?t=2.5")
        site.wait_until("Math.abs(document.getElementById('video').currentTime - 2.5) < 0.1")
        # The Live Photo: its motion plays over the still once the page loads, then the still is back.
        site.open(f"/photos/{videos.live}")
        site.wait_until("document.getElementById('motion').currentTime > 0.2")
        site.wait_until("document.getElementById('motion').ended", timeout_s=10)
        site.wait_until("!document.getElementById('zoomable').classList.contains('moving')")
        assert site.page.locator("#live").get_attribute("aria-pressed") == "false"
        site.page.locator("#live").click()  # LIVE plays it again
        site.wait_until("document.getElementById('zoomable').classList.contains('moving')")
        site.wait_until("document.getElementById('motion').ended", timeout_s=10)
        site.wait_until(FADED)
        site.check_page("live-photo")
        for name, path in (("library-videos", "/library"), ("person-video", f"/people/{videos.vic}")):
            site.open(path)
            site.check_page(name)
    finally:
        site.context.close()
    site = _site(browser, server, videos, LAPTOP)
    try:
        for name, path in (
            ("video-photo", f"/photos/{videos.video}"),
            ("live-photo", f"/photos/{videos.live}"),
            ("library-videos", "/library"),
            ("person-video", f"/people/{videos.vic}"),
        ):
            site.open(path)
            if name == "live-photo":
                site.wait_until("document.getElementById('motion').ended", timeout_s=10)
                site.wait_until(FADED)
            site.check_page(name)
    finally:
        site.context.close()
