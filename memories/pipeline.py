"""The app's jobs, composed from the layers: index (+ assign), cluster, summary."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from memories.ingest import IndexSummary, index
from memories.store import Library


def index_and_assign(
    library: Library,
    roots: Sequence[Path],
    *,
    recognise: bool = True,
    workers: int | None = None,
    crops: bool = False,
    cluster: str | None = None,
) -> IndexSummary:
    """`memories index`: ingest and recognise new photos, name XMP faces, assign known people,
    and bring the knowledge graph up to date. cluster: a Dask scheduler's address whose workers
    read and recognise the photos (memories.cluster_workers); the rest runs here."""
    from memories.assignment import assign_new_faces
    from memories.clustering import apply_xmp_names
    from memories.faceless import assign_faceless
    from memories.graph_store import update_after_index

    last_asset = int(library.db.execute("SELECT COALESCE(MAX(id), 0) FROM assets").fetchone()[0])
    # Set while a run may store photos it has not yet named, assigned and put in the graph; a run
    # killed before the end leaves it, and the next run finishes that work.
    pending = library.index_pending_marker.exists()
    library.index_pending_marker.touch()
    summary = index(
        library,
        roots,
        recognise=recognise,
        workers=workers,
        recogniser_options={"crops": crops, "models_dir": None},
        cluster=cluster,
    )
    # Also when this run found nothing new but a killed one stored photos: each step picks up
    # what the database holds (unassigned faces, photos missing from the graph).
    if summary.new or summary.edited or summary.recognised or summary.moved or pending:
        apply_xmp_names(library)
        summary.assigned = assign_new_faces(library)
        assign_faceless(library)
        update_after_index(library, last_asset)
    library.index_pending_marker.unlink(missing_ok=True)
    return summary


def library_summary(library: Library) -> dict[str, Any]:
    db = library.db
    count = lambda sql: int(db.execute(sql).fetchone()[0])  # noqa: E731
    return {
        "library": str(library.root),
        "photos": count("SELECT COUNT(*) FROM assets"),
        "moments": count("SELECT COUNT(*) FROM moments"),
        "faces": count("SELECT COUNT(*) FROM observations WHERE source = 'detector'"),
        "clear_faces": count("SELECT COUNT(*) FROM observations WHERE source = 'detector' AND is_clear = 1"),
        "people": count("SELECT COUNT(*) FROM people WHERE merged_into IS NULL AND hidden = 0"),
        "named_people": count("SELECT COUNT(*) FROM people WHERE merged_into IS NULL AND name IS NOT NULL"),
    }


def cluster_and_graph(library: Library) -> Any:
    """`memories cluster`: re-cluster everyone, then bring the knowledge graph up to date."""
    from memories.clustering import recluster
    from memories.graph_store import rebuild_graph

    summary = recluster(library)
    rebuild_graph(library)
    return summary


def cluster_library(path: str) -> dict[str, Any]:
    """`memories cluster` for the library at `path`, opened here and nowhere else (one task of
    `memories cluster --libraries`, possibly on a cluster worker): its summary, or its error."""
    from memories.store import Library

    try:
        with Library(Path(path), create=False) as library:
            summary = cluster_and_graph(library)
    except OSError as error:  # a missing or unreadable library: its own line, the others go on
        return {"library": path, "error": str(error)}
    return {"library": path, "line": summary.line(), **summary.as_dict()}


def library_lost(path: str, reason: str) -> dict[str, Any]:
    """A library whose re-cluster task was lost on the cluster: its error line."""
    return {"library": path, "error": reason}
