"""Shared test fixtures: where the development data lives.

Markers (pyproject.toml): `slow` for tests (or modules) that take seconds to minutes, `browser` for
those that drive Chromium. `make test-fast` runs `pytest -m "not slow and not browser"`.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
# The development data sets (../shared/data/README.md); MEMORIES_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("MEMORIES_SHARED_DATA") or REPO_ROOT.parent / "shared" / "data").absolute()


def shared_dataset(name: str) -> Path:
    """The shared data set `name` (a folder of SHARED_DATA); the test FAILS, naming it, when it is
    missing: a run without the data must not look green by skipping the recognition tests."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.fail(
            f"shared data set {name!r} missing: {path} (see {SHARED_DATA / 'README.md'}; "
            "set MEMORIES_SHARED_DATA to use another copy)",
            pytrace=False,
        )
    return path


class _SharedDataRoot(type(Path())):  # type: ignore[misc]
    """SHARED_DATA whose `/` checks the data set named by the first part (`root / "lfw_min10/..."`)
    with `shared_dataset`, so that every test reading one fails by its name when it is missing."""

    def __truediv__(self, key: str | os.PathLike[str]) -> Path:
        first = Path(key).parts[0] if Path(key).parts else ""
        if first and not Path(key).is_absolute():
            shared_dataset(first)
        return Path(os.fspath(self), key)

    def joinpath(self, *keys: str | os.PathLike[str]) -> Path:
        return self / Path(*keys) if keys else Path(self)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The shared data root (fails, never skips, when it or a data set read through it is missing)."""
    if not SHARED_DATA.is_dir():
        pytest.fail(
            f"shared data missing: {SHARED_DATA} is not a folder (the development data sets of "
            "../shared/data/README.md; set MEMORIES_SHARED_DATA to use another copy)",
            pytrace=False,
        )
    return _SharedDataRoot(SHARED_DATA)


SAMPLES = REPO_ROOT / "samples" / "photos"

# Fixtures that take seconds to build (a whole indexed library, a set embedded, movies rendered,
# music synthesised): every test using one, directly or through another fixture, is `slow`, so that
# `-m "not slow"` never pays for building one (a quick test of its own belongs beside, not on it).
SLOW_FIXTURES = frozenset({
    "indexed_samples", "sample_library", "built_library",  # the samples indexed and clustered
    "video_library",  # test_videos: face_videos indexed
    "orl", "families", "lfw_faces", "labelled",  # data sets through the recognition pipeline
    "rendered", "tracks", "user_track",  # movies rendered, music made
})  # fmt: skip


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects by marker
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def indexed_samples(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The samples indexed and clustered by the real pipeline, once per session (read-only: copy it)."""
    from memories.pipeline import cluster_and_graph, index_and_assign
    from memories.store import Library

    root = tmp_path_factory.mktemp("samples-library") / "lib"
    with Library(root) as library:
        index_and_assign(library, [SAMPLES])
        cluster_and_graph(library)
    return root


@pytest.fixture()
def sample_library(indexed_samples: Path, tmp_path: Path) -> Path:
    """A private copy of the indexed samples for a test that writes."""
    import shutil

    copy = tmp_path / "lib"
    shutil.copytree(indexed_samples, copy)
    return copy
