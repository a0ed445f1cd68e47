"""The web page in a real Chromium (Playwright): name, merge, reject, escaping, photo, search, memories.

Each test reads the result back the way a user of the CLI would (`python -m memories people --json`)
and saves a screenshot of every page it visits under SCREENSHOTS (printed; set
MEMORIES_WEB_SCREENSHOTS to choose the folder).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))
from web_fixtures import (  # noqa: E402
    BEN,
    REPO_ROOT,
    XSS_NAME,
    BuiltLibrary,
    copy_library,
    template_library,
)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(
    os.environ.get("MEMORIES_WEB_SCREENSHOTS", Path(tempfile.gettempdir()) / "memories-web-screenshots")
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"{CHROMIUM} is missing (apt-get install -y chromium)"),
]


@pytest.fixture(scope="session")
def built_library(indexed_samples: Path) -> BuiltLibrary:
    return template_library(indexed_samples)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    print(f"\nweb page screenshots: {SCREENSHOTS}")
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


class Site:
    def __init__(self, library: BuiltLibrary, base: str, page: Any) -> None:
        self.library = library
        self.base = base
        self.page = page
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        return response

    def wait_until(self, expression: str, timeout_s: float = 15.0) -> None:
        """Poll a JS expression from outside (page.wait_for_function evals inside the page, which
        our Content-Security-Policy rightly forbids)."""
        deadline = time.monotonic() + timeout_s
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.05)

    def shot(self, name: str) -> Path:
        # Lazy images below the fold would be blank in a full-page shot: load them all first.
        self.page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
        self.wait_until("Array.from(document.images).every(i => i.complete)")
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def cli_people(self) -> dict[int, dict[str, Any]]:
        """What `memories people --json` prints for this library, by person id."""
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "memories",
                "people",
                "--json",
                "--hidden",
                "--library",
                str(self.library.root),
            ],
            check=True,
            capture_output=True,
            text=True,
            cwd=REPO_ROOT,
        )
        return {row["id"]: row for row in json.loads(done.stdout)}


@pytest.fixture
def site(browser: Any, built_library: BuiltLibrary, tmp_path: Path) -> Iterator[Site]:
    from memories.web.app import serve_in_thread

    library = copy_library(built_library, tmp_path / "library")
    server = serve_in_thread(library.root)
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15_000)
    site = Site(library, f"http://127.0.0.1:{server.server_port}", page)

    def answer(dialog: Any) -> None:  # the merge asks "are you sure?"; any alert() is recorded
        site.dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", answer)
    try:
        yield site
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def _photos_of(library: Any, person_id: int) -> set[int]:
    rows = library.db.execute("SELECT asset_id FROM observations WHERE person_id = ?", (person_id,))
    return {int(r[0]) for r in rows}


def test_name_a_person_in_the_album(site: Site) -> None:
    cleo = site.library.people["unnamed"]
    site.open("/people")
    site.shot("people-album")
    card = site.page.locator(f'#unnamed li[data-person-id="{cleo}"]')
    assert card.locator(".person-name").inner_text() == f"Person {cleo}"
    # Every face thumbnail in the album loaded (a broken image has naturalWidth 0).
    widths = site.page.eval_on_selector_all("img.face", "els => els.map(e => e.complete && e.naturalWidth)")
    assert widths and all(w == 160 for w in widths)
    card.get_by_placeholder("Add name").fill("Cleo")
    with site.page.expect_navigation():
        card.get_by_role("button", name="Save").click()
    assert site.page.url.endswith("/people")
    assert site.page.locator(f'#named li[data-person-id="{cleo}"] .person-name').inner_text() == "Cleo"
    assert site.page.locator(f'#unnamed li[data-person-id="{cleo}"]').count() == 0
    assert site.cli_people()[cleo]["name"] == "Cleo"
    site.shot("people-album-after-naming")
    assert not site.console_errors


def test_a_name_that_is_markup_shows_as_text(site: Site) -> None:
    markup, nameless = site.library.people["markup"], site.library.people["unnamed"]
    site.open(f"/people/{markup}")
    assert site.page.locator("#person-name").inner_text() == XSS_NAME
    site.shot("person-page")
    site.open("/people")
    assert site.page.locator(f'li[data-person-id="{markup}"] .person-name').inner_text() == XSS_NAME
    site.open(f"/photos/{site.library.photos['markup']}")
    assert XSS_NAME in site.page.locator(".face-label").all_inner_texts()
    # A name typed into the rename form comes back as the same text, everywhere it is shown.
    typed = '<img src=x onerror="alert(2)">'
    site.open(f"/people/{nameless}")
    site.page.fill("form.rename input[name=name]", typed)
    with site.page.expect_navigation():
        site.page.locator("form.rename button").click()
    assert site.page.locator("#person-name").inner_text() == typed
    assert site.page.locator(".face-card button.no").first.inner_text() == f"Not {typed}"
    assert site.cli_people()[nameless]["name"] == typed
    site.open("/people")
    assert site.page.locator(f'li[data-person-id="{nameless}"] .person-name').inner_text() == typed
    assert site.page.locator("img[src='x']").count() == 0
    assert site.dialogs == []  # neither alert ran
    site.shot("people-album-markup-names")


def test_merge_two_people(site: Site) -> None:
    keep, gone = site.library.people["keep"], site.library.people["gone"]
    before = site.cli_people()
    expected_faces = before[keep]["faces"] + before[gone]["faces"]
    site.open("/people")
    # The pair is one the album asks about ("same person?").
    assert site.page.locator(f'.pair-card[data-pair="{keep}-{gone}"]').count() == 1
    site.open(f"/people/{keep}")
    assert site.page.locator(".face-card").count() == before[keep]["faces"]
    site.shot("person-before-merge")
    site.page.select_option("form.merge select", str(gone))
    with site.page.expect_navigation():
        site.page.locator("form.merge button").click()
    assert site.dialogs and f"into {before[keep]['label']}" in site.dialogs[0]
    assert site.page.url.endswith(f"/people/{keep}?note=merged")
    assert site.page.locator(".face-card").count() == expected_faces
    listed = site.cli_people()
    assert gone not in listed and listed[keep]["faces"] == expected_faces
    site.shot("person-after-merge")


def test_reject_a_face(site: Site) -> None:
    from memories.store import Library
    from memories.web.queries import faces_to_review

    nameless, wrong = site.library.people["unnamed"], site.library.faces["wrong"]
    before = site.cli_people()[nameless]["faces"]
    with Library(site.library.root, create=False) as library:
        offered = wrong in {face["id"] for face in faces_to_review(library)}
    site.open("/people")
    assert site.page.locator(f'.review-card[data-face-id="{wrong}"]').count() == int(offered)
    site.open(f"/people/{nameless}")
    card = site.page.locator(f'.face-card[data-face-id="{wrong}"]')
    assert card.count() == 1
    with site.page.expect_navigation():
        card.get_by_role("button", name=f"Not Person {nameless}").click()
    assert site.page.locator(f'.face-card[data-face-id="{wrong}"]').count() == 0
    assert site.page.locator(".face-card").count() == before - 1
    assert site.cli_people()[nameless]["faces"] == before - 1
    # Answered, so the album's "Review these" does not ask about it (any more).
    site.open("/people")
    assert site.page.locator(f'.review-card[data-face-id="{wrong}"]').count() == 0
    site.shot("person-after-reject")


def test_confirm_a_face_from_review(site: Site) -> None:
    from memories.store import Library

    site.open("/people")
    first = site.page.locator(".review-card").first
    unsure = int(first.get_attribute("data-face-id"))
    with Library(site.library.root, create=False) as library:
        owner = library.db.execute("SELECT person_id FROM observations WHERE id = ?", (unsure,)).fetchone()[0]
    with site.page.expect_navigation():
        first.locator("button.yes").click()
    assert site.page.locator(f'.review-card[data-face-id="{unsure}"]').count() == 0
    with Library(site.library.root, create=False) as library:
        row = library.db.execute(
            "SELECT person_id FROM feedback_confirmations WHERE observation_id = ?", (unsure,)
        ).fetchone()
    assert row is not None and row[0] == owner
    site.open(f"/people/{owner}")
    assert "confirmed" in site.page.locator(f'.face-card[data-face-id="{unsure}"]').get_attribute("class")


def test_photo_page_shows_boxes_and_names(site: Site) -> None:
    from memories import service
    from memories.store import Library

    together = site.library.photos["together"]
    with Library(site.library.root, create=False) as library:
        faces = service.photo(library, together)["faces"]
    site.open(f"/photos/{together}")
    site.wait_until("document.getElementById('photo').complete")
    boxes = site.page.locator(".face-box")
    assert boxes.count() == len(faces)
    photo = site.page.locator("#photo").bounding_box()
    for i in range(len(faces)):
        box = boxes.nth(i).bounding_box()
        assert box and photo
        assert photo["x"] <= box["x"] and box["x"] + box["width"] <= photo["x"] + photo["width"] + 1
        assert photo["y"] <= box["y"] and box["y"] + box["height"] <= photo["y"] + photo["height"] + 1
        assert box["width"] > 10
    labels = site.page.locator(".face-label").all_inner_texts()
    assert labels == [face["name"] or "Unknown" for face in faces]
    assert "Ana" in labels and BEN in labels
    site.shot("photo-page")


def test_search_all_and_any(site: Site) -> None:
    from memories.store import Library

    ana, ben, nameless = (site.library.people[k] for k in ("ana", "ben", "unnamed"))
    with Library(site.library.root, create=False) as library:
        photos_of = {person: _photos_of(library, person) for person in (ana, ben, nameless)}

    def count(n: int) -> str:
        return f"{n} photo" if n == 1 else f"{n} photos"

    site.open(f"/search?q=Ana%2C+{BEN}&mode=all")
    assert site.page.locator("#result-count").inner_text() == count(len(photos_of[ana] & photos_of[ben]))
    site.page.check('input[value="any"]')
    with site.page.expect_navigation():
        site.page.get_by_role("button", name="Search").click()
    assert site.page.locator("#result-count").inner_text() == count(len(photos_of[ana] | photos_of[ben]))
    site.page.fill(".search-form input[name=q]", f"Ana, Person {nameless}")
    with site.page.expect_navigation():
        site.page.get_by_role("button", name="Search").click()
    assert site.page.locator("#result-count").inner_text() == count(len(photos_of[ana] | photos_of[nameless]))
    site.shot("search")
    site.open("/search?q=Anna")
    assert "did you mean 'Ana'?" in site.page.locator(".error-line").inner_text()


PLAY_MUTED = """v => new Promise((done, fail) => {
    v.muted = true;
    v.addEventListener('timeupdate', () => { if (v.currentTime > 0.3) done(v.currentTime); });
    v.addEventListener('error', () => fail(String(v.error && v.error.message)));
    v.play().catch(e => fail(String(e)));
})"""
SEEK_TO = """(v, t) => new Promise(done => {
    v.addEventListener('seeked', () => done(v.currentTime), { once: true });
    v.currentTime = t;
})"""


def _play(video: Any) -> float:
    """Play a <video> muted until 0.3 s have played; the time reached (fails on a media error)."""
    return float(video.evaluate(PLAY_MUTED))


def _make_clip(photo: Path, target: Path, seconds: int = 3) -> None:
    """A real H.264 MP4 from a sample photo (ffmpeg from imageio-ffmpeg)."""
    import imageio_ffmpeg

    subprocess.run(
        [
            imageio_ffmpeg.get_ffmpeg_exe(), "-loglevel", "error", "-loop", "1", "-t", str(seconds),
            "-i", str(photo), "-vf", "scale=480:-2", "-r", "12", "-pix_fmt", "yuv420p", "-c:v", "libx264",
            "-movflags", "+faststart", "-y", str(target),
        ],
        check=True,
    )  # fmt: skip


def test_video_plays_and_seeks_over_range_requests(site: Site) -> None:
    """Chromium's <video> plays an MP4 the page serves and seeks in it with byte ranges (206)."""
    from urllib.parse import urlencode

    from memories.store import Library

    with Library(site.library.root, create=False) as library:
        clip = library.renders_dir / "clip.mp4"
        photo = Path(
            library.db.execute(
                "SELECT path FROM assets WHERE id = ?", (site.library.photos["ana"],)
            ).fetchone()[0]
        )
    _make_clip(photo, clip)
    statuses: list[int] = []
    site.page.on("response", lambda r: statuses.append(r.status) if "clip.mp4" in r.url else None)
    site.open("/files?" + urlencode({"path": str(clip)}))
    video = site.page.locator("video")
    played = _play(video)
    assert played > 0.3
    assert abs(video.evaluate("v => v.duration") - 3.0) < 0.2
    seeked = video.evaluate(SEEK_TO, 2.5)
    assert abs(seeked - 2.5) < 0.2
    assert 206 in statuses, statuses


def test_play_a_memory(site: Site) -> None:
    """Make the "Ana & Bea" memory on /memories: a progress bar while it renders, then its movie plays.

    The one real render of the web tests (~10-15 s for a 30 s 720p movie)."""
    ana, bea = site.library.people["ana"], site.library.people["bea"]
    site.open("/memories")
    assert not site.page.locator("#memories-problem").count()
    cards = site.page.locator(".memory-card").filter(has=site.page.locator("h2", has_text="Ana & Bea"))
    assert cards.count() == 1, site.page.locator(".memory-card h2").all_inner_texts()
    key = cards.first.get_attribute("data-key")
    assert key and key.startswith("together:")
    assert {int(i) for i in key.split(":", 1)[1].split("-")} == {ana, bea}
    card = f'.memory-card[data-key="{key}"]'
    assert site.page.locator(f"{card} video").count() == 0  # not made yet
    site.shot("memories-before-making")
    # The page reloads itself when the job is done; meanwhile the card shows a progress bar.
    with site.page.expect_navigation(timeout=110_000):
        site.page.locator(f"{card} form.make button").click()
        site.page.locator(f"{card} .job:not([hidden]) progress").wait_for()
        site.page.screenshot(path=str(SCREENSHOTS / "memories-making.png"))
    video = site.page.locator(f"{card} video")
    assert video.count() == 1
    played = _play(video)
    assert played > 0.3
    assert video.evaluate("v => v.duration") > 1
    assert (video.evaluate("v => [v.videoWidth, v.videoHeight]")) == [1280, 720]
    site.shot("memories")
    assert not site.console_errors
