"""Constraints on which faces may share a cluster, and the bookkeeping that enforces them cheaply.

* cannot-link: two faces of one photo (a photo never holds a person twice) and pairs the user
  rejected ("not this person"). Each is turned into a *token*: every face of photo p carries the
  token of p, and both faces of a rejected pair carry that pair's token. Two clusters may merge
  only if their token sets are disjoint, a set intersection instead of a pairwise scan.
* must-link: faces the user merged; applied first with union-find, skipping any that would
  break a cannot-link (the photo is the stronger evidence; those are reported as conflicts).
* anchors: faces the user confirmed as person P. All anchors of P are must-linked, and a
  cluster holding anchors of P never merges with one holding anchors of another person.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

NO_PERSON = -1


@dataclass(frozen=True)
class Constraints:
    """User and photo constraints over n observations (indices into the embedding rows)."""

    photo_ids: NDArray | None = None  # (n,) any hashable ids; faces sharing one are cannot-linked
    cannot_link: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    must_link: NDArray[np.int64] = field(default_factory=lambda: np.zeros((0, 2), np.int64))
    anchors: NDArray[np.int64] | None = None  # (n,) person id or -1

    @classmethod
    def build(
        cls, n: int, photo_ids: ArrayLike | None = None, cannot_link: ArrayLike | None = None,
        must_link: ArrayLike | None = None, anchors: ArrayLike | dict[int, int] | None = None,
    ) -> Constraints:
        """Normalise the many ways a caller may hold constraints into arrays."""
        photos = None if photo_ids is None else np.asarray(photo_ids)
        if photos is not None and len(photos) != n:
            raise ValueError("photo_ids must have one entry per observation")
        anchor_arr: NDArray[np.int64] | None = None
        if isinstance(anchors, dict):
            anchor_arr = np.full(n, NO_PERSON, np.int64)
            for item, person in anchors.items():
                anchor_arr[int(item)] = int(person)
        elif anchors is not None:
            anchor_arr = np.asarray(anchors, np.int64)
        return cls(
            photo_ids=photos,
            cannot_link=_pairs(cannot_link, n),
            must_link=_pairs(must_link, n),
            anchors=anchor_arr,
        )

    def tokens(self, n: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        """CSR (indptr, token ids) of each observation's cannot-link tokens."""
        owners: list[NDArray[np.int64]] = []
        toks: list[NDArray[np.int64]] = []
        next_token = 0
        if self.photo_ids is not None:
            codes = np.unique(self.photo_ids, return_inverse=True)[1].ravel().astype(np.int64)
            owners.append(np.arange(n, dtype=np.int64))
            toks.append(codes)
            next_token = int(codes.max(initial=-1)) + 1
        if len(self.cannot_link):
            pair_tokens = next_token + np.arange(len(self.cannot_link), dtype=np.int64)
            owners += [self.cannot_link[:, 0], self.cannot_link[:, 1]]
            toks += [pair_tokens, pair_tokens]
        if not owners:
            return np.zeros(n + 1, np.int64), np.zeros(0, np.int64)
        owner = np.concatenate(owners)
        token = np.concatenate(toks)
        order = np.argsort(owner, kind="stable")
        indptr = np.zeros(n + 1, np.int64)
        np.add.at(indptr, owner + 1, 1)
        return np.cumsum(indptr), token[order]

    def anchor_array(self, n: int) -> NDArray[np.int64]:
        return np.full(n, NO_PERSON, np.int64) if self.anchors is None else self.anchors


def _pairs(pairs: ArrayLike | None, n: int) -> NDArray[np.int64]:
    if pairs is None:
        return np.zeros((0, 2), np.int64)
    arr = np.asarray(pairs, np.int64).reshape(-1, 2)
    if arr.size and (arr.min() < 0 or arr.max() >= n):
        raise ValueError("constraint pair index out of range")
    return arr


class LinkState:
    """Per-cluster token sets and anchor person, merged as clusters merge (smaller into larger)."""

    def __init__(self, constraints: Constraints, n: int) -> None:
        self._indptr, self._tokens = constraints.tokens(n)
        self._item_anchor = constraints.anchor_array(n)
        self.tokens: dict[int, set[int]] = {}
        self.person: dict[int, int] = {}

    def item_tokens(self, item: int) -> NDArray[np.int64]:
        return self._tokens[self._indptr[item]:self._indptr[item + 1]]

    def open(self, cluster: int, items: NDArray[np.int64]) -> None:
        toks: set[int] = set()
        person = NO_PERSON
        for item in items:
            toks.update(self.item_tokens(int(item)).tolist())
            p = int(self._item_anchor[item])
            if p != NO_PERSON:
                person = p
        self.tokens[cluster] = toks
        self.person[cluster] = person

    def conflict(self, a: int, b: int) -> bool:
        pa, pb = self.person[a], self.person[b]
        if pa != NO_PERSON and pb != NO_PERSON and pa != pb:
            return True
        ta, tb = self.tokens[a], self.tokens[b]
        return not (ta.isdisjoint(tb) if len(ta) <= len(tb) else tb.isdisjoint(ta))

    def can_join(self, cluster: int, item: int) -> bool:
        p, q = self.person[cluster], int(self._item_anchor[item])
        if p != NO_PERSON and q != NO_PERSON and p != q:
            return False
        toks = self.tokens[cluster]
        return not any(t in toks for t in self.item_tokens(item).tolist())

    def join(self, cluster: int, item: int) -> None:
        self.tokens[cluster].update(self.item_tokens(item).tolist())
        if self.person[cluster] == NO_PERSON:
            self.person[cluster] = int(self._item_anchor[item])

    def merge(self, a: int, b: int, into: int) -> None:
        ta, tb = self.tokens.pop(a), self.tokens.pop(b)
        if len(ta) < len(tb):
            ta, tb = tb, ta
        ta |= tb
        self.tokens[into] = ta
        pa, pb = self.person.pop(a), self.person.pop(b)
        self.person[into] = pa if pa != NO_PERSON else pb


def must_link_pairs(constraints: Constraints, n: int) -> NDArray[np.int64]:
    """The user's must-link pairs plus a chain through each person's anchors."""
    pairs = [constraints.must_link]
    anchors = constraints.anchor_array(n)
    for person in np.unique(anchors[anchors != NO_PERSON]):
        items = np.flatnonzero(anchors == person)
        pairs.append(np.stack([np.full(len(items) - 1, items[0]), items[1:]], axis=1))
    return np.concatenate(pairs).astype(np.int64)
