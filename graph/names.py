"""People by name or id, and how they are shown.

A reference may be a name ("Ana", any case), an id ("7"), a node id ("person:7") or the label an
unnamed person is shown with ("Person 7"). Hidden people cannot be referred to: every query skips
them. An unknown name raises `UnknownPersonError` listing close matches (difflib); a name two
people share raises `AmbiguousPersonError` listing their ids.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any

import networkx as nx

_ID = re.compile(r"^(?:person:|person\s+)?(\d+)$", re.IGNORECASE)


class PersonLookupError(LookupError):
    def __init__(self, message: str, matches: list[str]) -> None:
        super().__init__(message)
        self.matches = matches


class UnknownPersonError(PersonLookupError):
    pass


class AmbiguousPersonError(PersonLookupError):
    pass


class UnknownPlaceError(LookupError):
    def __init__(self, message: str, matches: list[str]) -> None:
        super().__init__(message)
        self.matches = matches


def person_label(attrs: dict[str, Any]) -> str:
    return attrs["name"] or f"Person {attrs['id']}"


def person_summary(graph: nx.Graph, person: str) -> dict[str, Any]:
    attrs = graph._node[person]
    return {"id": attrs["id"], "node": person, "name": attrs["name"], "label": person_label(attrs)}


def visible_people(graph: nx.Graph) -> list[str]:
    return [p for p in graph.graph["people"] if not graph._node[p]["hidden"]]


def resolve_person(graph: nx.Graph, reference: str | int, *, suggest: bool = True) -> str:
    """The node id ("person:7") a user's reference means (suggest=False: no close-match search
    for the error, which costs ~10 ms per unknown word among 2,000 names)."""
    text = str(reference).strip()
    match = _ID.match(text)
    if match:
        node = f"person:{int(match.group(1))}"
        if node in graph and not graph._node[node]["hidden"]:
            return node
        raise UnknownPersonError(f"no person {match.group(1)}", [])
    wanted = text.casefold()
    labels: dict[str, list[str]] = {}
    for person in visible_people(graph):
        labels.setdefault(person_label(graph._node[person]).casefold(), []).append(person)
    found = labels.get(wanted, [])
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        ids = ", ".join(str(graph._node[p]["id"]) for p in found)
        raise AmbiguousPersonError(f"{len(found)} people are named {text!r} (ids {ids}); use an id", found)
    if not suggest:
        raise UnknownPersonError(f"no person named {text!r}", [])
    names = sorted({person_label(graph._node[p]) for p in visible_people(graph)})
    close = difflib.get_close_matches(text, names, n=5, cutoff=0.6)
    if not close:
        lowered = {n.casefold(): n for n in names}
        close = [lowered[c] for c in difflib.get_close_matches(wanted, list(lowered), n=5, cutoff=0.6)]
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownPersonError(f"no person named {text!r}{hint}", close)


def resolve_people(graph: nx.Graph, references: Iterable[str | int]) -> list[str]:
    """Each reference resolved, duplicates dropped, in the order given."""
    seen: dict[str, None] = {}
    for reference in references:
        seen[resolve_person(graph, reference)] = None
    return list(seen)


HINTED_WORDS = 3


def people_in_text(graph: nx.Graph, text: str) -> tuple[list[str], list[str]]:
    """The people a typed query names, and one message per word or name not understood.

    Commas separate names ("Ana Maria, Ben"). Without commas, the longest run of words that is a
    visible person's label wins at each position, so "Ana Maria Ben" finds a two-word name: the
    runs tried are never longer than the longest label, so the work grows with the word count, not
    its square.
    """
    labels: dict[str, str] = {}
    for person in visible_people(graph):
        labels.setdefault(person_label(graph._node[person]).casefold(), person)
    found: dict[str, None] = {}
    errors: list[str] = []

    def one(reference: str) -> None:
        try:
            # Close matches for the first few unknown words only: a line of gibberish is not
            # worth a fuzzy search per word.
            found[resolve_person(graph, reference, suggest=len(errors) < HINTED_WORDS)] = None
        except PersonLookupError as error:
            errors.append(str(error.args[0]))

    if "," in text:
        for part in (p.strip() for p in text.split(",")):
            if part:
                one(part)
        return list(found), errors
    words = text.split()
    longest = max((len(label.split()) for label in labels), default=1)
    start = 0
    while start < len(words):
        for end in range(min(len(words), start + longest), start, -1):
            phrase = " ".join(words[start:end])
            if phrase.casefold() in labels or (end == start + 1 and _ID.match(phrase)):
                one(phrase)
                start = end
                break
        else:
            one(words[start])
            start += 1
    return list(found), errors


def resolve_places(graph: nx.Graph, reference: str) -> set[str]:
    """Places a user's place reference means: a place id, or a town, region or country name."""
    text = reference.strip()
    if text.startswith("place:"):
        if text in graph:
            return {text}
        raise UnknownPlaceError(f"no place {text!r}", [])
    wanted = text.casefold()
    found: set[str] = set()
    names: set[str] = set()
    for place in graph.graph["places"]:
        attrs = graph._node[place]
        fields = (attrs["city"], attrs["region"], attrs["country"], attrs["country_code"], attrs["label"])
        names.update(f for f in fields[:3] if f)
        if any(f and f.casefold() == wanted for f in fields):
            found.add(place)
    if found:
        return found
    close = difflib.get_close_matches(text, sorted(names), n=5, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownPlaceError(f"no place named {text!r}{hint}", close)
