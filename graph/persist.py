"""The graph on disk: networkx node-link JSON at a path the caller chooses.

Everything `update_graph` needs lives in the graph's nodes, edges and graph attributes (all JSON
types, dict keys strings), so a loaded graph can be updated incrementally like a fresh one.
Writes go to a part file renamed over the old one (`boltons.fileutils.atomic_save`), so a crash
never leaves half a graph.

The layout is networkx's node-link format (`nx.node_link_graph(data, name="node",
edges="edges")` reads it); it is written and read here directly because networkx's own
converters copy every attribute dict through keyword arguments, which doubled load time at
100k photos.
"""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import networkx as nx
from boltons.fileutils import atomic_save

from graph.build import FORMAT_VERSION

# Nodes carry their own integer `id` attribute, so the node's name is stored under another key.
NODE_KEY = "node"


def graph_to_node_link(graph: nx.Graph) -> dict[str, Any]:
    return {
        "directed": False,
        "multigraph": False,
        "graph": graph.graph,
        "nodes": [{NODE_KEY: node, **attrs} for node, attrs in graph._node.items()],
        "edges": [{"source": u, "target": v, **data} for u, v, data in graph.edges(data=True)],
    }


def node_link_to_graph(data: dict[str, Any]) -> nx.Graph:
    if data.get("directed") or data.get("multigraph"):
        raise ValueError("the knowledge graph is an undirected simple graph")
    graph = nx.Graph()
    graph.graph.update(data["graph"])
    graph.add_nodes_from((attrs.pop(NODE_KEY), attrs) for attrs in data["nodes"])
    graph.add_edges_from((attrs.pop("source"), attrs.pop("target"), attrs) for attrs in data["edges"])
    return graph


def save_graph(graph: nx.Graph, path: Path | str) -> Path:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    # dumps, not dump: json.dump streams through the pure-Python encoder, ~10x slower here.
    text = json.dumps(graph_to_node_link(graph), separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    # A part file of its own: two processes saving at once (two `memories index` runs) must not
    # write into, or rename away, each other's half-written file. Bytes, not text_mode: boltons
    # opens a text part file in the locale's encoding, and the graph is UTF-8 whatever the locale.
    with atomic_save(str(target), part_file=f"{target.name}.{uuid.uuid4().hex}.part") as stream:
        stream.write(text.encode("utf-8"))
    return target


def load_graph(path: Path | str) -> nx.Graph:
    data = json.loads(Path(path).read_text(encoding="utf-8"))
    found = data.get("graph", {}).get("format_version")
    if found != FORMAT_VERSION:
        raise ValueError(f"{path}: graph format {found}, expected {FORMAT_VERSION}; rebuild the graph")
    return node_link_to_graph(data)
