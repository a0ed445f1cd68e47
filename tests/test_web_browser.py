"""The web app in a real Chromium (Playwright) at a phone's 390x844 and a laptop's 1366x900.

Every page must fit the screen (no sideways scroll), log no console error, fail no request and
load every image; a screenshot of each page at each width is written to SCREENSHOTS (printed; set
MEMORIES_WEB_SCREENSHOTS to choose the folder) for a person to look at. Then a user's session:
name someone, merge, undo, pick a key photo, answer "not the same person", and see every change
survive `memories cluster`; the photo viewer's keys and zoom; "Who is this?"; several photos at
once; suggestions as you type; a memory made and played.
"""

from __future__ import annotations

import json
import os
import re
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
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1366, "height": 900}

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
    """One browser tab on one server, recording what a page must never do."""

    def __init__(self, library: BuiltLibrary, base: str, context: Any, viewport: dict[str, int]) -> None:
        self.library = library
        self.base = base
        self.context = context
        self.viewport = viewport
        self.page = context.new_page()
        self.page.set_default_timeout(20_000)
        self.dialogs: list[str] = []
        self.console_errors: list[str] = []
        self.failed: list[str] = []
        self.page.on("console", lambda m: self.console_errors.append(m.text) if m.type == "error" else None)
        self.page.on("pageerror", lambda e: self.console_errors.append(str(e)))
        # A request the browser itself cancels because the user moved on (ERR_ABORTED) is no failure.
        self.page.on(
            "requestfailed",
            lambda r: (
                self.failed.append(f"{r.url} {r.failure}") if "ERR_ABORTED" not in str(r.failure) else None
            ),
        )
        self.page.on(
            "response", lambda r: self.failed.append(f"{r.url} {r.status}") if r.status >= 400 else None
        )

        def answer(dialog: Any) -> None:  # the merge asks "are you sure?"
            self.dialogs.append(dialog.message)
            dialog.accept()

        self.page.on("dialog", answer)

    def open(self, path: str) -> Any:
        response = self.page.goto(self.base + path)
        assert response is not None and response.status == 200, path
        return response

    def wait_until(self, expression: str, timeout_s: float = 20.0) -> None:
        """Poll a JS expression from outside (page.wait_for_function evals inside the page, which
        our Content-Security-Policy rightly forbids)."""
        deadline = time.monotonic() + timeout_s
        while not self.page.evaluate(expression):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.05)

    def submit(self, locator: Any) -> None:
        with self.page.expect_navigation():
            locator.click()

    def check_page(self, name: str) -> Path:
        """Everything loaded and fits; the screenshot for a person to look at."""
        self.page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach(i => i.loading = 'eager')")
        self.wait_until("Array.from(document.images).every(i => i.complete)")
        broken = self.page.evaluate(
            "Array.from(document.images).filter(i => !i.naturalWidth).map(i => i.getAttribute('src'))"
        )
        assert not broken, (name, broken)
        width = self.page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
        assert width[0] <= width[1], (name, self.viewport, width)
        assert not self.console_errors, (name, self.console_errors)
        assert not self.failed, (name, self.failed)
        path = SCREENSHOTS / f"{name}-{self.viewport['width']}.png"
        self.page.screenshot(path=str(path), full_page=True)
        return path

    def cli(self, *arguments: str) -> Any:
        done = subprocess.run(
            [sys.executable, "-m", "memories", *arguments, "--library", str(self.library.root)],
            check=True, capture_output=True, text=True, cwd=REPO_ROOT,
        )  # fmt: skip
        return json.loads(done.stdout) if "--json" in arguments else done.stdout


def _site(
    browser: Any, built_library: BuiltLibrary, tmp_path: Path, viewport: dict[str, int]
) -> Iterator[Site]:
    from memories.web.app import serve_in_thread

    library = copy_library(built_library, tmp_path / "library")
    server = serve_in_thread(library.root)
    context = browser.new_context(viewport=viewport, has_touch=viewport is PHONE, is_mobile=viewport is PHONE)
    try:
        yield Site(library, f"http://127.0.0.1:{server.server_port}", context, viewport)
    finally:
        context.close()
        server.shutdown()


@pytest.fixture(params=[PHONE, LAPTOP], ids=["phone", "laptop"])
def any_site(request: Any, browser: Any, built_library: BuiltLibrary, tmp_path: Path) -> Iterator[Site]:
    yield from _site(browser, built_library, tmp_path, request.param)


@pytest.fixture
def site(browser: Any, built_library: BuiltLibrary, tmp_path: Path) -> Iterator[Site]:
    yield from _site(browser, built_library, tmp_path, LAPTOP)


def test_every_page_fits_loads_and_is_photographed(any_site: Site) -> None:
    site = any_site
    lib = site.library
    pages = {
        "library": "/library",
        "photo": f"/photos/{lib.photos['together']}",
        "people": "/people",
        "person": f"/people/{lib.people['ana']}",
        "places": "/places",
        "search": "/search?q=Ana",
        "memories": "/memories",
        "person-markup": f"/people/{lib.people['markup']}",
    }
    for name, path in pages.items():
        site.open(path)
        site.check_page(name)
    # A name that is markup shows as text wherever it appears.
    site.open(f"/people/{lib.people['markup']}")
    assert site.page.locator("#person-name").inner_text() == XSS_NAME
    assert not site.dialogs
    # The header's sections are all reachable on the phone too.
    site.open("/library")
    for section in ("Library", "People", "Places", "Search", "Memories"):
        assert site.page.get_by_role("link", name=section, exact=True).first.is_visible()


def _people_json(site: Site) -> dict[int, dict[str, Any]]:
    return {row["id"]: row for row in site.cli("people", "--json", "--hidden")}


def test_a_users_corrections_survive_a_recluster(site: Site) -> None:
    """Name, merge, undo, key photo and "not the same person" in the browser, then `memories cluster`."""
    from memories import people
    from memories.assignment import merge_suggestions
    from memories.store import Library

    lib = site.library
    nameless, keep, gone = lib.people["unnamed"], lib.people["keep"], lib.people["gone"]
    before = _people_json(site)
    # 1. Name someone from the album.
    site.open("/people")
    card = site.page.locator(f'.person-card[data-person-id="{nameless}"]')
    card.locator("input[name=name]").fill("Cleo")
    site.submit(card.get_by_role("button", name="Save"))
    assert site.page.url.endswith("/people")
    assert _people_json(site)[nameless]["name"] == "Cleo"
    # 2. Merge two people from a person page, 3. and undo it from the album.
    site.open(f"/people/{keep}")
    site.page.locator("form.merge input[name=other]").fill(f"Person {gone}")
    site.submit(site.page.locator("form.merge button"))
    assert site.dialogs and "Merge" in site.dialogs[-1]
    merged = _people_json(site)
    assert gone not in merged and merged[keep]["faces"] == before[keep]["faces"] + before[gone]["faces"]
    site.open("/people")
    undo = site.page.locator("form.undo button")
    assert "merged" in undo.inner_text()
    site.submit(undo)
    undone = _people_json(site)
    assert undone[keep]["faces"] == before[keep]["faces"] and undone[gone]["faces"] == before[gone]["faces"]
    # 4. "Not the same person" on the album's suggestion of that pair.
    site.open("/people")
    pair = site.page.locator(f'.pair-card[data-pair="{min(keep, gone)}-{max(keep, gone)}"]')
    if not pair.count():
        pair = site.page.locator(f'.pair-card[data-pair="{max(keep, gone)}-{min(keep, gone)}"]')
    assert pair.count() == 1, site.page.locator(".pair-card").evaluate_all("e => e.map(x => x.dataset.pair)")
    site.submit(pair.get_by_role("button", name="Not the same person"))
    assert not site.page.locator(
        f'.pair-card[data-pair="{keep}-{gone}"], .pair-card[data-pair="{gone}-{keep}"]'
    ).count()
    # 5. A key photo for Cleo: a face that is not her key face now.
    site.open(f"/people/{nameless}")
    chosen_card = site.page.locator(".face-card", has=site.page.locator("button.key")).first
    chosen = int(chosen_card.get_attribute("data-face-id") or 0)
    site.submit(chosen_card.locator("button.key"))
    site.open(f"/people/{nameless}")
    assert site.page.locator(f'.person-head img[src="/faces/{chosen}/thumb.jpg"]').count() == 1
    site.check_page("person-after-corrections")

    site.cli("cluster")

    after = _people_json(site)
    assert after[nameless]["name"] == "Cleo"
    assert keep in after and gone in after  # separate, as the undo and the answer left them
    with Library(lib.root, create=False) as library:
        assert (
            library.db.execute("SELECT key_observation_id FROM people WHERE id = ?", (nameless,)).fetchone()[
                0
            ]
            == chosen
        )
        assert (min(keep, gone), max(keep, gone)) in people.different_pairs(library)
        asked = {(int(r["person_a"]), int(r["person_b"])) for r in merge_suggestions(library)}
    assert (keep, gone) not in asked and (gone, keep) not in asked
    site.open(f"/people/{nameless}")
    assert site.page.locator(f'.person-head img[src="/faces/{chosen}/thumb.jpg"]').count() == 1
    site.open("/people")
    site.check_page("people-after-recluster")


def test_viewer_keys_zoom_and_who_is_this(site: Site) -> None:

    lib = site.library
    site.open(f"/photos/{lib.photos['together']}")
    later = site.page.locator(".viewer").get_attribute("data-after")
    earlier = site.page.locator(".viewer").get_attribute("data-before")
    if later:
        with site.page.expect_navigation():
            site.page.keyboard.press("ArrowRight")
        assert site.page.url.endswith(f"/photos/{later}")
        with site.page.expect_navigation():
            site.page.keyboard.press("ArrowLeft")
        assert site.page.url.endswith(f"/photos/{lib.photos['together']}")
    else:
        assert earlier
    site.page.locator("#zoomable").dblclick()
    assert "zoomed" in (site.page.locator("#zoomable").get_attribute("class") or "")
    site.page.keyboard.press("-")
    assert "zoomed" not in (site.page.locator("#zoomable").get_attribute("class") or "")
    # "Who is this?" on a face nobody has: a new name makes a new person with that face...
    face, asset = _answer_who_is_this(site, "Dora")
    assert site.page.url.endswith(f"/photos/{asset}")  # the user stays on the photo, now named
    assert site.page.locator(f'li[data-face-id="{face}"] a.who').inner_text() == "Dora"
    dora = next(row for row in _people_json(site).values() if row["name"] == "Dora")
    assert dora["faces"] == 1
    # ...and an existing name (any case) confirms the face as that person.
    _answer_who_is_this(site, "dora")
    assert _people_json(site)[dora["id"]]["faces"] == 2


def _answer_who_is_this(site: Site, name: str) -> tuple[int, int]:
    """Type `name` for the first face nobody has, on its photo page; (face id, photo id)."""
    from memories.store import Library

    with Library(site.library.root, create=False) as library:
        face, asset = library.db.execute(
            "SELECT id, asset_id FROM observations WHERE person_id IS NULL AND is_clear = 1 "
            "AND source = 'detector' ORDER BY id"
        ).fetchone()
    site.open(f"/photos/{asset}")
    form = site.page.locator(f'li[data-face-id="{face}"] form.who-form')
    form.locator("input[name=name]").fill(name)
    site.submit(form.get_by_role("button", name="Save"))
    return int(face), int(asset)


def test_several_photos_at_once_and_suggestions_as_you_type(site: Site) -> None:
    from memories.store import Library

    ana = site.library.people["ana"]
    site.open(f"/people/{ana}")
    boxes = site.page.locator('.face-card:not(.confirmed) input[type=checkbox][form="bulk"]')
    assert boxes.count() >= 2
    picked = [int(boxes.nth(i).get_attribute("value") or 0) for i in range(2)]
    for i in range(2):
        boxes.nth(i).check()
    assert site.page.locator(".selected-count").inner_text().startswith("2 selected")
    site.submit(site.page.locator("#bulk button[value=confirm]"))
    with Library(site.library.root, create=False) as library:
        confirmed = {
            int(r[0])
            for r in library.db.execute(
                "SELECT observation_id FROM feedback_confirmations WHERE person_id = ?", (ana,)
            )
        }
    assert set(picked) <= confirmed
    site.open("/search")
    site.page.locator(".search-form input[name=q]").press_sequentially("An", delay=50)
    site.wait_until("document.querySelectorAll('#suggest-people option').length > 0")
    options = site.page.locator("#suggest-people option").evaluate_all("o => o.map(x => x.value)")
    assert options[0] == "Ana"
    site.page.locator(".search-form input[name=q]").fill("Ana")
    site.submit(site.page.get_by_role("button", name="Search"))
    # the count the page shows, against the library's rows: at least every photo with Ana's face
    # (the template always writes "N photos", so the words alone would prove nothing)
    with Library(site.library.root, create=False) as library:
        with_ana = {int(r[0]) for r in library.db.execute("SELECT asset_id FROM observations WHERE person_id = ?", (ana,))}
    shown = site.page.locator("#result-count").inner_text()
    assert re.fullmatch(r"\d+ photos?", shown) and int(shown.split()[0]) >= len(with_ana) >= 2, (shown, with_ana)
    site.check_page("search-results")


PLAY_MUTED = """v => new Promise((done, fail) => {
    v.muted = true;
    v.addEventListener('timeupdate', () => { if (v.currentTime > 0.3) done(v.currentTime); });
    v.addEventListener('error', () => fail(String(v.error && v.error.message)));
    v.play().catch(e => fail(String(e)));
})"""


def test_make_and_play_a_memory(site: Site) -> None:
    """Make the "Ana & Bea" memory on /memories: a progress bar while it renders, then it plays.

    The one real render of the web tests (~20 s for a 30 s 720p movie)."""
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
    assert site.page.locator(f"{card} img.poster").count() == 1  # its cover photo
    assert "Why this memory:" in site.page.locator(f"{card} .reason").inner_text()
    with site.page.expect_navigation(timeout=180_000):
        site.page.locator(f"{card} form.make button").click()
        site.page.locator(f"{card} .job:not([hidden]) progress").wait_for()
        site.page.screenshot(path=str(SCREENSHOTS / "memories-making-1366.png"))
    video = site.page.locator(f"{card} video")
    assert video.count() == 1
    assert float(video.evaluate(PLAY_MUTED)) > 0.3
    assert video.evaluate("v => [v.videoWidth, v.videoHeight]") == [1280, 720]
    site.page.evaluate("document.querySelectorAll('video').forEach(v => v.pause())")
    site.check_page("memories-made")
    # One click hides a memory; it is gone from the page.
    other = site.page.locator(".memory-card").nth(
        1 if site.page.locator(".memory-card").first.get_attribute("data-key") == key else 0
    )
    other_key = other.get_attribute("data-key")
    site.submit(other.get_by_role("button", name="Hide"))
    assert site.page.locator(f'.memory-card[data-key="{other_key}"]').count() == 0


def test_the_demos_memory_plays_on_the_memories_page(site: Site, tmp_path: Path) -> None:
    """What `make demo` does (a Together movie rendered to a folder outside the library), then the
    Memories page: the card shows that movie, and it plays."""
    target = tmp_path / "out" / "together.mp4"
    site.cli("make", "together", "--people", "Ana,Bea", "--length", "short", "-o", str(target))
    assert target.exists()
    site.open("/memories")
    card = site.page.locator(".memory-card").filter(has=site.page.locator("h2", has_text="Ana & Bea"))
    video = card.locator("video")
    assert video.count() == 1
    assert float(video.evaluate(PLAY_MUTED)) > 0.3
    site.page.evaluate("document.querySelectorAll('video').forEach(v => v.pause())")
    site.check_page("memories-demo")


@pytest.fixture
def phone_site(browser: Any, built_library: BuiltLibrary, tmp_path: Path) -> Iterator[Site]:
    yield from _site(browser, built_library, tmp_path, PHONE)


def _swipe(site: Site, from_x: float, to_x: float) -> None:
    """A finger drawn across the photo (Chromium's own touch events, through DevTools)."""
    box = site.page.locator("#frame").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    devtools = site.context.new_cdp_session(site.page)
    with site.page.expect_navigation():
        devtools.send(
            "Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": from_x, "y": y}]}
        )
        devtools.send(
            "Input.dispatchTouchEvent",
            {"type": "touchMove", "touchPoints": [{"x": (from_x + to_x) / 2, "y": y}]},
        )
        devtools.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": to_x, "y": y}]})
        devtools.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})


def test_swipe_between_photos_on_a_phone(phone_site: Site) -> None:
    site = phone_site
    site.open(f"/photos/{site.library.photos['together']}")
    viewer = site.page.locator(".viewer")
    later, earlier = viewer.get_attribute("data-after"), viewer.get_attribute("data-before")
    if later:
        _swipe(site, 320, 60)  # right to left: the next (later) photo
        assert site.page.url.endswith(f"/photos/{later}")
        _swipe(site, 60, 320)  # back
        assert site.page.url.endswith(f"/photos/{site.library.photos['together']}")
    else:
        assert earlier
        _swipe(site, 60, 320)
        assert site.page.url.endswith(f"/photos/{earlier}")
    site.check_page("photo-after-swipe")
