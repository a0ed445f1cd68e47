"""The knowledge graph of a library: built from the store, saved as `graph.json` beside it.

`memories index` updates it incrementally (new photos, their faces, changed moments);
`memories cluster` rebuilds it (every face may have changed person).
"""

from __future__ import annotations

from typing import Any

import networkx as nx

import graph as kg
from memories import settings
from memories.store import Library


def _asset_record(row: Any) -> kg.AssetRecord:
    return kg.AssetRecord(
        row["id"], row["path"], row["taken_ts"], row["taken_at"], row["latitude"], row["longitude"],
        row["moment_id"], bool(row["hidden"]),
    )  # fmt: skip


def snapshot(library: Library, *, since_asset: int = 0) -> kg.LibrarySnapshot:
    """The store as graph records; with since_asset, only newer photos and their faces."""
    db = library.db
    assets = tuple(
        _asset_record(r) for r in db.execute("SELECT * FROM assets WHERE id > ? ORDER BY id", (since_asset,))
    )
    moments = tuple(
        kg.MomentRecord(
            r["id"], r["start_ts"], r["end_ts"], r["latitude"], r["longitude"], r["start_at"], r["end_at"]
        )
        for r in db.execute("SELECT * FROM moments ORDER BY id")
    )
    observations = tuple(
        kg.ObservationRecord(r["id"], r["asset_id"], r["person_id"], r["assign_score"], bool(r["is_clear"]))
        for r in db.execute(
            # A person seen without a face counts only when surely theirs (memories.faceless).
            "SELECT id, asset_id, person_id, assign_score, source = 'body' OR is_clear AS is_clear FROM observations "
            "WHERE (source = 'detector' OR (source = 'body' AND assign_score >= ?)) AND asset_id > ? ORDER BY id",
            (settings.FACELESS_MIN_CONFIDENCE, since_asset),
        )
    )
    people = tuple(
        kg.PersonRecord(r["id"], r["name"], bool(r["hidden"]))
        for r in db.execute("SELECT id, name, hidden FROM people WHERE merged_into IS NULL ORDER BY id")
    )
    return kg.LibrarySnapshot(assets=assets, moments=moments, observations=observations, people=people)


def rebuild_graph(library: Library) -> nx.Graph:
    built = kg.build_graph(snapshot(library))
    kg.save_graph(built, library.graph_path)
    library.graph_stale_marker.unlink(missing_ok=True)
    return built


def update_after_index(library: Library, previous_max_asset: int) -> nx.Graph:
    """Add the photos indexed since previous_max_asset (and every moment, which may have re-split)."""
    if not library.graph_path.exists():
        return rebuild_graph(library)
    current = kg.load_graph(library.graph_path)
    # A run killed after storing photos but before this update left them out of the graph: start
    # from the newest photo the graph holds, not from what this run saw.
    in_graph = max((int(str(n).split(":")[1]) for n in current.nodes if str(n).startswith("asset:")), default=0)
    previous_max_asset = min(previous_max_asset, in_graph)
    # Older photos can change moment when a new photo bridges two moments: send those too.
    delta_assets = snapshot(library, since_asset=previous_max_asset)
    moved = tuple(
        _asset_record(r)
        for r in library.db.execute("SELECT * FROM assets WHERE id <= ?", (previous_max_asset,))
        if current.nodes.get(f"asset:{r['id']}", {}).get("moment") not in (None, f"moment:{r['moment_id']}")
    )
    live_moments = {m.id for m in delta_assets.moments}
    stale = tuple(
        int(str(node).split(":")[1])
        for node, attrs in current.nodes(data=True)
        if attrs.get("kind") == "moment" and int(str(node).split(":")[1]) not in live_moments
    )
    delta = kg.LibraryDelta(
        assets=delta_assets.assets + moved,
        moments=delta_assets.moments,
        observations=delta_assets.observations,
        people=delta_assets.people,
        removed_moment_ids=stale,
    )
    kg.update_graph(current, delta)
    kg.save_graph(current, library.graph_path)
    return current


def load(library: Library) -> nx.Graph:
    """The saved graph, current with the user's latest corrections.

    Names and hidden flags are applied on every load (a people-only update, cheap); a merge,
    rejection or confirmation moved faces between people, which needs a rebuild."""
    if library.graph_path.exists() and not library.graph_stale_marker.exists():
        try:
            current = kg.load_graph(library.graph_path)
        except (ValueError, KeyError):  # an older format: rebuild from the store
            return rebuild_graph(library)
        people = snapshot(library, since_asset=1 << 62).people
        changed = tuple(
            p
            for p in people
            if (
                current.nodes.get(f"person:{p.id}", {}).get("name"),
                current.nodes.get(f"person:{p.id}", {}).get("hidden"),
            )
            != (p.name, p.hidden)
        )
        if changed:
            kg.update_graph(current, kg.LibraryDelta(people=changed))
            kg.save_graph(current, library.graph_path)
        return current
    return rebuild_graph(library)
