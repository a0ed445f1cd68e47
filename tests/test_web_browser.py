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
from web_fixtures import REPO_ROOT, XSS_NAME, BuiltLibrary, copy_library, template_library  # noqa: E402

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


@pytest.fixture(scope="module")
def built_library() -> BuiltLibrary:
    return template_library()


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


def test_name_a_person_in_the_album(site: Site) -> None:
    bea = site.library.people["bea"]
    site.open("/people")
    site.shot("people-album")
    card = site.page.locator(f'#unnamed li[data-person-id="{bea}"]')
    # Every face thumbnail in the album loaded (a broken image has naturalWidth 0).
    widths = site.page.eval_on_selector_all("img.face", "els => els.map(e => e.complete && e.naturalWidth)")
    assert widths and all(w == 160 for w in widths)
    card.get_by_placeholder("Add name").fill("Bea")
    with site.page.expect_navigation():
        card.get_by_role("button", name="Save").click()
    assert site.page.url.endswith("/people")
    assert site.page.locator(f'#named li[data-person-id="{bea}"] .person-name').inner_text() == "Bea"
    assert site.cli_people()[bea]["name"] == "Bea"
    site.shot("people-album-after-naming")
    assert not site.console_errors


def test_a_name_that_is_markup_shows_as_text(site: Site) -> None:
    markup, split = site.library.people["markup"], site.library.people["ana_split"]
    site.open(f"/people/{markup}")
    assert site.page.locator("#person-name").inner_text() == XSS_NAME
    site.open("/people")
    assert site.page.locator(f'li[data-person-id="{markup}"] .person-name').inner_text() == XSS_NAME
    site.open(f"/photos/{site.library.assets['img47']}")
    assert site.page.locator(".face-label").first.inner_text() == XSS_NAME
    # A name typed into the rename form comes back as the same text, everywhere it is shown.
    typed = '<img src=x onerror="alert(2)">'
    site.open(f"/people/{split}")
    site.page.fill("form.rename input[name=name]", typed)
    with site.page.expect_navigation():
        site.page.locator("form.rename button").click()
    assert site.page.locator("#person-name").inner_text() == typed
    assert site.page.locator(".face-card button.no").first.inner_text() == f"Not {typed}"
    assert site.cli_people()[split]["name"] == typed
    site.open("/people")
    assert site.page.locator(f'li[data-person-id="{split}"] .person-name').inner_text() == typed
    assert site.page.locator("img[src='x']").count() == 0
    assert site.dialogs == []  # neither alert ran
    site.shot("people-album-markup-names")


def test_merge_two_people(site: Site) -> None:
    ana, split = site.library.people["ana"], site.library.people["ana_split"]
    site.open(f"/people/{ana}")
    site.shot("person-before-merge")
    site.page.select_option("form.merge select", str(split))
    with site.page.expect_navigation():
        site.page.locator("form.merge button").click()
    assert site.dialogs and "into Ana" in site.dialogs[0]
    assert site.page.url.endswith(f"/people/{ana}?note=merged")
    assert site.page.locator(".face-card").count() == 8  # 3 + 3 split off + couple + the unsure img8
    listed = site.cli_people()
    assert split not in listed and listed[ana]["faces"] == 8
    site.shot("person-after-merge")


def test_reject_a_face(site: Site) -> None:
    ana, wrong = site.library.people["ana"], site.library.faces["img8"]
    site.open("/people")
    assert site.page.locator(f'.review-card[data-face-id="{wrong}"]').count() == 1
    site.open(f"/people/{ana}")
    card = site.page.locator(f'.face-card[data-face-id="{wrong}"]')
    assert "unsure" in card.get_attribute("class")
    with site.page.expect_navigation():
        card.get_by_role("button", name="Not Ana").click()
    assert site.page.locator(f'.face-card[data-face-id="{wrong}"]').count() == 0
    assert site.cli_people()[ana]["faces"] == 4
    # Answered, so the album's "Review these" no longer asks about it.
    site.open("/people")
    assert site.page.locator(f'.review-card[data-face-id="{wrong}"]').count() == 0
    site.shot("person-after-reject")


def test_confirm_a_face_from_review(site: Site) -> None:
    from memories.store import Library

    ana, unsure = site.library.people["ana"], site.library.faces["img8"]
    site.open("/people")
    with site.page.expect_navigation():
        site.page.locator(f'.review-card[data-face-id="{unsure}"] button.yes').click()
    assert site.page.locator(".review-card").count() == 0
    with Library(site.library.root, create=False) as library:
        row = library.db.execute(
            "SELECT person_id FROM feedback_confirmations WHERE observation_id = ?", (unsure,)
        ).fetchone()
    assert row is not None and row[0] == ana
    site.open(f"/people/{ana}")
    assert "confirmed" in site.page.locator(f'.face-card[data-face-id="{unsure}"]').get_attribute("class")


def test_photo_page_shows_boxes_and_names(site: Site) -> None:
    site.open(f"/photos/{site.library.assets['couple']}")
    site.wait_until("document.getElementById('photo').complete")
    boxes = site.page.locator(".face-box")
    assert boxes.count() == 2
    photo = site.page.locator("#photo").bounding_box()
    for i in range(2):
        box = boxes.nth(i).bounding_box()
        assert box and photo
        assert photo["x"] <= box["x"] and box["x"] + box["width"] <= photo["x"] + photo["width"] + 1
        assert box["width"] > 50  # the faces in couple.jpg are 373 px of 1280
    assert site.page.locator(".face-label").all_inner_texts() == ["Ana", "Ben"]
    site.shot("photo-page")


def test_search_all_and_any(site: Site) -> None:
    site.open("/search?q=Ana%2C+Ben&mode=all")
    assert site.page.locator("#result-count").inner_text() == "1 photo"
    site.page.check('input[value="any"]')
    with site.page.expect_navigation():
        site.page.get_by_role("button", name="Search").click()
    site.page.fill(".search-form input[name=q]", f"Ana, Person {site.library.people['bea']}")
    with site.page.expect_navigation():
        site.page.get_by_role("button", name="Search").click()
    # Ana: img1, img2, img4, the unsure img8, couple; Bea: img26, img27, img28, img42.
    assert site.page.locator("#result-count").inner_text() == "9 photos"
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
                "SELECT path FROM assets WHERE id = ?", (site.library.assets["img1"],)
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
    from memories import service

    site.open("/memories")
    if not hasattr(service, "suggest_memories") or not hasattr(service, "make_memory"):
        site.shot("memories")
        assert "suggest_memories is missing" in site.page.locator("#memories-problem").inner_text()
        pytest.skip(
            "memories.service has no suggest_memories/make_memory yet: the page says so; nothing to play"
        )
    cards = site.page.locator(".memory-card")
    assert cards.count() > 0, "no memories suggested for the sample library"
    key = cards.first.get_attribute("data-key")
    card = f'.memory-card[data-key="{key}"]'
    site.shot("memories-before-making")
    # The page reloads itself when the job is done; meanwhile the card shows a progress bar.
    with site.page.expect_navigation(timeout=110_000):
        site.page.locator(f"{card} form.make button").click()
        site.page.locator(f"{card} .job:not([hidden]) progress").wait_for()
    video = site.page.locator(f"{card} video")
    played = _play(video)
    assert played > 0.3
    assert video.evaluate("v => v.duration") > 1
    site.shot("memories")
