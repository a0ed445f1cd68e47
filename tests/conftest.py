"""Shared test fixtures: where the development data lives."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    if not SHARED_DATA.is_dir():
        pytest.skip(f"development data not found at {SHARED_DATA}")
    return SHARED_DATA


SAMPLES = REPO_ROOT / "samples" / "photos"


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
