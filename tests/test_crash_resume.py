"""kill -9 at seeded random moments, then resume: `index` (new and existing library), `cluster`,
`make` and `export` end exactly where an uninterrupted run ends.

Each command gets 10 kills. A kill falls anywhere in the span an uninterrupted run takes (start-up,
decoding, recognition, clustering, encoding, the final renames); `index`, `make` and `export` are
killed twice before each resume, so that a resume of a killed resume is tried too. A trial only
counts when its kill cut the work short: the first kill of each `index` trial must leave the library
unfinished (fewer asset rows than the uninterrupted run, or index.pending still there) and at least
one must leave some but not all of the new photos stored; most `cluster` kills must find the command
running and some `make`/`export` kill must leave a movie unrendered. After the resume
the library (files, faces and their embeddings, people, corrections, moments), search results, the
graph and the movies equal the uninterrupted run's; a movie under its final name is never a
truncated one; no process of a killed run is left alive.
"""

from __future__ import annotations

import json
import random
import shutil
import sqlite3
import subprocess
from pathlib import Path

import pytest
from conftest import SAMPLES
from crash_harness import (
    CLI,
    index_progress,
    integrity_ok,
    kill_after,
    library_state,
    run,
    survivors,
)

KILLS = 10

pytestmark = pytest.mark.slow  # whole `memories` runs, killed and resumed
RENDER = ["--size", "160x90", "--length", "short"]


def _photos(tmp_path: Path, years: list[str]) -> Path:
    photos = tmp_path / "photos"
    for year in years:
        shutil.copytree(SAMPLES / year, photos / year)
    return photos


def _kill_times(rng: random.Random, seconds: float, count: int) -> list[float]:
    return [rng.uniform(0.05, 1.0) * seconds for _ in range(count)]


@pytest.fixture(scope="module")
def existing_library(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2019–2021 indexed and clustered, with a user's corrections: a named person, a confirmed
    face and a rejected one (what a later index and cluster must never undo)."""
    root = tmp_path_factory.mktemp("existing")
    photos = _photos(root, ["2019", "2020", "2021"])
    library = root / "lib"
    run(["index", str(photos), "-L", str(library)])
    run(["cluster", "-L", str(library)])
    with sqlite3.connect(library / "library.sqlite3") as db:
        unnamed = db.execute(
            "SELECT p.id, MIN(o.id), MAX(o.id) FROM people p JOIN observations o ON o.person_id = p.id "
            "WHERE p.name IS NULL AND p.merged_into IS NULL GROUP BY p.id HAVING COUNT(*) >= 2 ORDER BY p.id"
        ).fetchone()
    assert unnamed, "the samples should hold an unnamed person with two faces"
    person, confirmed_face, rejected_face = unnamed
    run(["name", str(person), "Carla", "-L", str(library)])
    run(["confirm", str(confirmed_face), "-L", str(library)])
    run(["reject", str(rejected_face), "--from", str(person), "-L", str(library)])
    return library


def _index_trials(tmp_path: Path, start: Path | None, photos: Path, seed: int) -> None:
    def fresh(name: str) -> Path:
        library = tmp_path / name
        if start is not None:
            shutil.copytree(start, library)
        return library

    clean = fresh("clean")
    before = index_progress(clean).assets
    seconds = run(["index", str(photos), "-L", str(clean)])
    expected = library_state(clean)
    total = len(expected.assets)
    assert before < total
    rng = random.Random(seed)
    partial, missed = [], []
    for trial in range(KILLS // 2):
        library = fresh(f"killed{trial}")
        spawned: list[int] = []
        for kill, after in enumerate(_kill_times(rng, seconds, 2)):
            # the first kill at its time, or once some but not all new photos are stored if sooner
            until = (lambda lib=library: index_progress(lib).partial(before, total)) if kill == 0 else None
            killed = kill_after(["index", str(photos), "-L", str(library), "--workers", "2"], after, until)
            spawned += killed.spawned
            if kill == 0:  # did the first kill cut the index short? (else the trial resumes nothing)
                left = index_progress(library)
                if not (killed.struck and left.unfinished(total)):
                    missed.append(f"trial {trial}: {after:.2f} s ({left})")
                partial.append(left.partial(before, total))
        assert not survivors(spawned), f"trial {trial}: processes of the killed runs are still alive"
        run(["index", str(photos), "-L", str(library)])
        assert integrity_ok(library)
        assert library_state(library).differences(expected) == [], f"trial {trial}"
    # A first kill comes at its drawn time or at the first partial library, so it finds the index
    # at work however loaded the machine is (one that raced the end of a run is allowed); at least
    # one must leave some but not all of the new photos stored (SQLite rows) for the resume.
    assert len(missed) <= 1, f"first kills after the index of {seconds:.2f} s had finished: {missed}"
    assert any(partial), f"no kill left a partial library ({before} -> {total} assets)"


def test_index_of_a_new_library_killed_and_resumed(tmp_path: Path) -> None:
    _index_trials(tmp_path, None, _photos(tmp_path, ["2019", "2020", "2021", "2022"]), seed=11)


def test_index_into_an_existing_library_killed_and_resumed(tmp_path: Path, existing_library: Path) -> None:
    _index_trials(tmp_path, existing_library, _photos(tmp_path, ["2019", "2020", "2021", "2022", "2023"]), seed=12)


@pytest.fixture(scope="module")
def grown_library(tmp_path_factory: pytest.TempPathFactory, existing_library: Path) -> Path:
    """The existing library after 2022 and 2023 were indexed into it (not yet re-clustered)."""
    root = tmp_path_factory.mktemp("grown")
    library = root / "lib"
    shutil.copytree(existing_library, library)
    run(["index", str(_photos(root, ["2019", "2020", "2021", "2022", "2023"])), "-L", str(library)])
    return library


def test_cluster_killed_and_resumed_keeps_corrections(tmp_path: Path, grown_library: Path) -> None:
    clean = tmp_path / "clean"
    shutil.copytree(grown_library, clean)
    seconds = run(["cluster", "-L", str(clean)])
    expected = library_state(clean)
    assert any(name == "Carla" for name, _, _ in expected.people)
    assert any(confirmed for *_, confirmed in expected.faces)
    rng = random.Random(13)
    missed = []
    for trial, after in enumerate(_kill_times(rng, seconds, KILLS)):
        library = tmp_path / f"killed{trial}"
        shutil.copytree(grown_library, library)
        killed = kill_after(["cluster", "-L", str(library)], after)
        if not killed.struck:
            missed.append(f"{after:.2f} s")
        assert not survivors(killed.spawned)
        run(["cluster", "-L", str(library)])
        assert integrity_ok(library)
        assert library_state(library).differences(expected) == [], f"trial {trial}, killed after {after:.2f} s"
    # The kills are drawn within the span of an uninterrupted run, timed on a machine whose load
    # varies: most must find it running (so the test cannot pass by killing finished runs).
    assert len(missed) <= KILLS // 2, f"kills after the cluster of {seconds:.2f} s had ended: {missed}"


def _frames(video: Path) -> int:
    from imageio_ffmpeg import count_frames_and_secs

    return int(count_frames_and_secs(str(video))[0])


def _sidecar(video: Path) -> dict[str, object]:
    return json.loads(video.with_suffix(".json").read_text(encoding="utf-8"))


def _render_trials(tmp_path: Path, library_source: Path, args: list[str], output: str, seed: int) -> None:
    """Kill a render command (make or export) twice, resume it, and compare its movies with those
    of an uninterrupted run; between kills no movie under a final name is ever cut short."""
    from memories.render.video import render_is_complete

    def start(name: str) -> tuple[Path, Path]:
        root = tmp_path / name
        shutil.copytree(library_source, root / "lib")
        return root / "lib", root / "out"

    def command(library: Path, out: Path) -> list[str]:
        return [*args, "-o", str(out / output if output else out), "-L", str(library), *RENDER]

    library, out = start("clean")
    seconds = run(command(library, out))
    expected_files = sorted(p.name for p in out.iterdir())
    expected_movies = {p.name: (_frames(p), _sidecar(p)) for p in out.glob("*.mp4")}
    assert expected_movies
    rng = random.Random(seed)
    cut_short = []
    for trial in range(KILLS // 2):
        library, out = start(f"killed{trial}")
        spawned: list[int] = []
        for kill, after in enumerate(_kill_times(rng, seconds, 2)):
            killed = kill_after(command(library, out), after)
            spawned += killed.spawned
            for movie in out.glob("*.mp4") if out.is_dir() else []:
                if not movie.name.startswith("."):  # a final name: the whole movie or nothing
                    assert _frames(movie) == expected_movies[movie.name][0], (trial, movie.name)
            if killed.struck and any(not (out / name).exists() for name in expected_movies):
                cut_short.append((trial, kill))
        assert not survivors(spawned), f"trial {trial}: processes of the killed runs are still alive"
        run(command(library, out))
        assert sorted(p.name for p in out.iterdir()) == expected_files, f"trial {trial}: scratch left"
        for name, (frames, sidecar) in expected_movies.items():
            assert render_is_complete(out / name)
            assert _frames(out / name) == frames and _sidecar(out / name) == sidecar, (trial, name)
        assert integrity_ok(library)
    # a resume must have had movies to finish: some kill stops the command before they are all out
    assert cut_short, "no kill came before the movies were out: every resume had nothing to render"


def test_make_killed_and_resumed(tmp_path: Path, sample_library: Path) -> None:
    _render_trials(tmp_path, sample_library, ["make", "together"], "together.mp4", seed=14)


def test_export_killed_and_resumed_skips_only_finished_movies(tmp_path: Path, sample_library: Path) -> None:
    _render_trials(tmp_path, sample_library, ["export", "--theme", "person_over_the_years", "--all"], "", seed=15)
    # and once everything is there, a further export renders nothing again
    library, out = tmp_path / "killed0" / "lib", tmp_path / "killed0" / "out"
    done = subprocess.run(
        [*CLI, "export", "--theme", "person_over_the_years", "--all", "-o", str(out), "-L", str(library),
         *RENDER, "--json"],
        capture_output=True, text=True, check=True,
    )
    assert all(row["skipped"] for row in json.loads(done.stdout))
