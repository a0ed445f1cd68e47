"""Values derived from a graph object and kept beside it (not in it: they are never saved), dropped
whenever `update_graph` changes that graph."""

from __future__ import annotations

import weakref
from typing import Any

import networkx as nx

_KEPT: weakref.WeakKeyDictionary[nx.Graph, dict[str, Any]] = weakref.WeakKeyDictionary()


def kept(graph: nx.Graph) -> dict[str, Any]:
    """The derived values of this graph object (a dict to read and fill)."""
    found = _KEPT.get(graph)
    if found is None:
        found = _KEPT[graph] = {}
    return found


def changed(graph: nx.Graph) -> None:
    _KEPT.pop(graph, None)
