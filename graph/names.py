"""People by name or id, and how they are shown: the one place for both.

`label` is how a person is shown ("Ana", or "Person 7" for an unnamed one): every "Person N" the
app shows comes from it. `person_id_in` reads an id back from a reference, and `match_person`
holds the rules for matching a name, for the graph (`resolve_person`) and for the store
(`memories.people.resolve_person`) alike.

A reference may be a name ("Ana", any case), an id ("7"), a node id ("person:7") or the label an
unnamed person is shown with ("Person 7"). Hidden people cannot be referred to in the graph: every
query skips them. An unknown name raises `UnknownPersonError` listing close matches (difflib); a
name two people share raises `AmbiguousPersonError` listing their ids.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from typing import Any, TypeVar

import networkx as nx

from graph.rows import PersonSummary

_ID = re.compile(r"^(?:person:|person\s+)?(\d+)$", re.IGNORECASE)
Key = TypeVar("Key")


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


def label(person_id: int, name: str | None) -> str:
    """How a person is shown: their name, or "Person 7" when they have none."""
    return name if name else f"Person {person_id}"


def person_label(attrs: dict[str, Any]) -> str:
    """The label of a person node's attributes."""
    return label(attrs["id"], attrs["name"])


def person_id_in(reference: str | int) -> int | None:
    """The id a reference gives: 7, "7", "person:7" or "Person 7" (any case); None for a name."""
    match = _ID.match(str(reference).strip())
    return int(match.group(1)) if match else None


def unknown_id(person_id: int) -> UnknownPersonError:
    return UnknownPersonError(f"no person with id {person_id}", [])


def close_matches(text: str, names: Iterable[str]) -> list[str]:
    """Up to 5 of `names` close to `text`: as typed, else ignoring case."""
    ordered = sorted(set(names))
    close = difflib.get_close_matches(text, ordered, n=5, cutoff=0.6)
    if not close:
        lowered = {n.casefold(): n for n in ordered}
        close = [
            lowered[c] for c in difflib.get_close_matches(text.casefold(), list(lowered), n=5, cutoff=0.6)
        ]
    return close


def match_person(
    reference: str | int, candidates: Iterable[tuple[Key, int, str | None]], *, suggest: bool = True
) -> Key:
    """The key of the one candidate (key, id, name) whose label is the reference, any case.

    Two or more: `AmbiguousPersonError` (matches: their keys). None: `UnknownPersonError` with
    close labels (suggest=False: no close-match search, which costs ~10 ms per unknown word among
    2,000 names)."""
    text = str(reference).strip()
    wanted = text.casefold()
    labels: list[str] = []
    found: list[tuple[Key, int]] = []
    for key, person_id, name in candidates:
        shown = label(person_id, name)
        labels.append(shown)
        if shown.casefold() == wanted:
            found.append((key, person_id))
    if len(found) == 1:
        return found[0][0]
    if len(found) > 1:
        ids = ", ".join(str(person_id) for _, person_id in found)
        raise AmbiguousPersonError(
            f"{len(found)} people are named {text!r} (ids {ids}); use an id", [str(k) for k, _ in found]
        )
    if not suggest:
        raise UnknownPersonError(f"no person named {text!r}", [])
    close = close_matches(text, labels)
    hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    raise UnknownPersonError(f"no person named {text!r}{hint}", close)


def person_summary(graph: nx.Graph, person: str) -> PersonSummary:
    attrs = graph._node[person]
    return {"id": attrs["id"], "node": person, "name": attrs["name"], "label": person_label(attrs)}


def visible_people(graph: nx.Graph) -> list[str]:
    return [p for p in graph.graph["people"] if not graph._node[p]["hidden"]]


def resolve_person(graph: nx.Graph, reference: str | int, *, suggest: bool = True) -> str:
    """The node id ("person:7") a user's reference means, among visible people (`match_person`)."""
    person_id = person_id_in(reference)
    if person_id is not None:
        node = f"person:{person_id}"
        if node in graph and not graph._node[node]["hidden"]:
            return node
        raise unknown_id(person_id)
    nodes = graph._node
    candidates = ((p, nodes[p]["id"], nodes[p]["name"]) for p in visible_people(graph))
    return match_person(reference, candidates, suggest=suggest)


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
            if phrase.casefold() in labels or (end == start + 1 and person_id_in(phrase) is not None):
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
