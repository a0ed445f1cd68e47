"""Server time of the web pages on a synthetic library (default 100,000 photos, 2,000 people).

    .venv/bin/python -m benchmarks.bench_web_scale [--photos N] [--people N] [--repeat N] [--json]

Builds the library once (benchmarks/synthetic_library.py; cached under
~/.cache/memories/web-scale/<photos>-<people>-v1, or --cache), then asks the web app, in process
(`werkzeug.test.Client` around `memories.web.app.create_app(root)`), for:

    /library                          the library page
    /people                           the People album
    /people/<id>                      the page of the most-photographed person
    /search?q=<name1>                 photos of one person
    /search?q=<name1>, <name2>        photos of both
    /search?place=<place>             photos at the place with the most photos

Each page: one warm-up request (the first visit may fill caches: reported as first_ms), then
--repeat timed requests (default 15). Server time is the wall time of the in-process request,
body included. A page passes when it answers 200 with the HTML expected and its p95 is under
--limit-ms (default 200). Exit status: 0 when every page passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from benchmarks.synthetic_library import SyntheticLibrary, cached_synthetic_library

DEFAULT_CACHE = Path("~/.cache/memories/web-scale")
BASE_URL = "http://127.0.0.1:8765"  # a loopback Host, as the app's Host check wants


@dataclass
class PageTiming:
    name: str
    url: str
    status: int | None = None
    first_ms: float | None = None
    median_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    bytes: int | None = None
    content_ok: bool = False
    passed: bool = False
    note: str = ""
    samples_ms: list[float] = field(default_factory=list)


def _percentile(values: list[float], q: float) -> float:
    """Linear-interpolated percentile (numpy's default): p95 of 15 samples lies between the two slowest."""
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


def pages(lib: SyntheticLibrary) -> list[tuple[str, str, list[str]]]:
    """(name, url, strings the HTML must hold)."""
    one, two = lib.top_person_name, lib.second_person_name
    return [
        ("library", "/library", ["/photos/"]),
        ("people", "/people", [one, two]),
        ("person", f"/people/{lib.top_person_id}", [one]),
        ("search person", "/search?" + urlencode({"q": one}), [one, "/photos/"]),
        ("search two people", "/search?" + urlencode({"q": f"{one}, {two}"}), [one, two, "/photos/"]),
        ("search place", "/search?" + urlencode({"place": lib.place_name}), [lib.place_name, "/photos/"]),
    ]


def time_page(
    client: Any, name: str, url: str, needles: list[str], repeat: int, limit_ms: float
) -> PageTiming:
    result = PageTiming(name=name, url=url)

    def request() -> tuple[float, Any, bytes]:
        started = time.perf_counter()
        response = client.get(url, base_url=BASE_URL)
        body = response.get_data()  # the whole body: a streamed page is timed to its end
        elapsed = (time.perf_counter() - started) * 1000.0
        return elapsed, response, body

    try:
        first, response, body = request()
    except Exception as error:  # the app is being rewritten: report, do not stop the other pages
        result.note = f"{type(error).__name__}: {error}"
        return result
    result.first_ms = round(first, 1)
    result.status = response.status_code
    result.bytes = len(body)
    text = body.decode("utf-8", "replace")
    missing = [n for n in needles if n not in text]
    result.content_ok = response.status_code == 200 and len(body) >= 1024 and not missing
    if response.status_code != 200:
        result.note = f"HTTP {response.status_code}"
    elif len(body) < 1024:
        result.note = f"only {len(body)} bytes"
    elif missing:
        result.note = "HTML lacks " + ", ".join(repr(m) for m in missing)
    for _ in range(repeat):
        elapsed, response, _ = request()
        result.samples_ms.append(round(elapsed, 2))
        if response.status_code != result.status:
            result.note = (result.note + "; " if result.note else "") + f"then HTTP {response.status_code}"
            result.content_ok = False
    if result.samples_ms:
        result.median_ms = round(statistics.median(result.samples_ms), 1)
        result.p95_ms = round(_percentile(result.samples_ms, 0.95), 1)
        result.max_ms = round(max(result.samples_ms), 1)
    result.passed = bool(result.content_ok and result.p95_ms is not None and result.p95_ms < limit_ms)
    return result


def run(lib: SyntheticLibrary, repeat: int, limit_ms: float) -> tuple[float, list[PageTiming]]:
    """The app started on the library, then every page timed; (start-up ms, the timings)."""
    from werkzeug.test import Client

    from memories.web.app import create_app

    started = time.perf_counter()
    app = create_app(lib.root)
    startup_ms = (time.perf_counter() - started) * 1000.0
    client = Client(app)
    return startup_ms, [time_page(client, n, u, needles, repeat, limit_ms) for n, u, needles in pages(lib)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--limit-ms", type=float, default=200.0)
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)

    lib = cached_synthetic_library(args.cache, args.photos, args.people, seed=args.seed)
    try:
        startup_ms, timings = run(lib, args.repeat, args.limit_ms)
        error = None
    except Exception as failure:  # no app at all: still one answer
        startup_ms, timings, error = None, [], f"{type(failure).__name__}: {failure}"
    passed = error is None and bool(timings) and all(t.passed for t in timings)
    if args.json:
        print(
            json.dumps(
                {
                    "library": lib.as_dict(),
                    "limit_ms": args.limit_ms,
                    "repeat": args.repeat,
                    "app_startup_ms": round(startup_ms, 1) if startup_ms is not None else None,
                    "error": error,
                    "pages": [asdict(t) for t in timings],
                    "passed": passed,
                },
                indent=2,
            )
        )
        return 0 if passed else 1
    stats = lib.stats
    print(
        f"library {lib.root}: {stats.get('photos', '?'):,} photos, {stats.get('people', '?'):,} people, "
        f"{stats.get('faces', '?'):,} faces, {stats.get('moments', '?'):,} moments"
    )
    print(
        f"person {lib.top_person_name} (id {lib.top_person_id}, {stats.get('top_person_photos', '?')} photos), "
        f"with {lib.second_person_name} ({stats.get('shared_photos', '?')} together); "
        f"place {lib.place_name} ({stats.get('place_photos', '?')} photos)"
    )
    if error:
        print(f"FAIL: the app did not start: {error}")
        return 1
    print(
        f"app start {startup_ms:.0f} ms; {args.repeat} requests per page after one warm-up; limit p95 < {args.limit_ms:.0f} ms"
    )
    print(f"{'page':<19} {'status':>6} {'first':>9} {'median':>9} {'p95':>9} {'KB':>7}  result")
    for t in timings:

        def ms(value: float | None) -> str:
            return f"{value:.1f}" if value is not None else "-"

        size = f"{t.bytes / 1024:.0f}" if t.bytes is not None else "-"
        verdict = "PASS" if t.passed else "FAIL"
        note = f"  ({t.note})" if t.note else ""
        print(
            f"{t.name:<19} {t.status if t.status is not None else '-':>6} {ms(t.first_ms):>9} "
            f"{ms(t.median_ms):>9} {ms(t.p95_ms):>9} {size:>7}  {verdict}{note}"
        )
    print("PASS" if passed else "FAIL")
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
