"""The knowledge graph: people, assets, moments, places, trips, groups and years (networkx).

Input is plain records (`graph.records`); nothing here imports the app. Build with `build_graph`,
keep current with `update_graph`, store with `save_graph` / `load_graph`, ask with the query
functions, which return plain, JSON-ready data (rows typed in `graph.rows`).

This package only re-exports: its submodules import from each other (`graph.build`,
`graph.records`, ...), never from `graph` itself, so that no import goes round in a cycle.
"""

from graph.build import build_graph, neighbours_of_kind, node_id, node_key, update_graph
from graph.names import (
    AmbiguousPersonError,
    PersonLookupError,
    UnknownPersonError,
    UnknownPlaceError,
    people_in_text,
    resolve_people,
    resolve_person,
)
from graph.persist import load_graph, save_graph
from graph.photo_search import Criteria, asset_rows, find, find_page, photos_together, search
from graph.queries import (
    frequent_places,
    home,
    important_groups,
    important_people,
    last_seen,
    person_timeline,
    trips,
)
from graph.records import (
    AssetRecord,
    LibraryDelta,
    LibrarySnapshot,
    MomentRecord,
    ObservationRecord,
    PersonRecord,
)
from graph.rows import (
    AssetRow,
    GroupRow,
    HomeRow,
    LastSeenRow,
    PersonRow,
    PersonSummary,
    PlaceRow,
    TimelineRow,
    TogetherRow,
    TripRow,
)
from graph.settings import DEFAULT_SETTINGS, GraphSettings

__all__ = [
    "DEFAULT_SETTINGS",
    "AmbiguousPersonError",
    "AssetRecord",
    "AssetRow",
    "Criteria",
    "GraphSettings",
    "GroupRow",
    "HomeRow",
    "LastSeenRow",
    "LibraryDelta",
    "LibrarySnapshot",
    "MomentRecord",
    "ObservationRecord",
    "PersonLookupError",
    "PersonRecord",
    "PersonRow",
    "PersonSummary",
    "PlaceRow",
    "TimelineRow",
    "TogetherRow",
    "TripRow",
    "UnknownPersonError",
    "UnknownPlaceError",
    "asset_rows",
    "build_graph",
    "find",
    "find_page",
    "frequent_places",
    "home",
    "important_groups",
    "important_people",
    "last_seen",
    "load_graph",
    "neighbours_of_kind",
    "node_id",
    "node_key",
    "people_in_text",
    "person_timeline",
    "photos_together",
    "resolve_people",
    "resolve_person",
    "save_graph",
    "search",
    "trips",
    "update_graph",
]
