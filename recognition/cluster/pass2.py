"""Pass 2: agglomerative clustering of pass-1 clusters on faces, across moments.

Linkage between clusters A and B is the median of the |A||B| member-to-member distances, or of
about `max_pairs` random member pairs once |A||B| exceeds that. (This is not scipy's
method='median', which is WPGMC, a centroid method.) The median ignores the few bad members a
cluster may hold (a blurred face, a mislabelled child) that drag single linkage into chaining and
average linkage off its mark, and with sampling it costs O(max_pairs d) per pair of clusters
however large they grow.

Merge rule (Pass2Settings), precision first: linkage below `threshold` (plus a bonus for a single
face, off by default) when one side holds at least `min_larger_faces` faces, else below the
stricter `found_threshold` (pass 2 grows people; founding one from lone faces needs more); when both clusters have gap_min_size faces or more,
linkage no more than max_gap above the larger of their own median member distances (two
clusters of one person are about as far apart as their own members; two lookalikes are not);
and the pair standing out from its neighbourhood (`_crowded`: not more faces of other clusters
about as close to the pair as its two halves are to each other). The surest merge (furthest
below its limit) goes first. Refused-as-crowded pairs are kept in `crowded_`; the gallery asks
the user about such people ("same person?") instead of merging them. Cannot-links and anchors
(recognition.cluster.constraints) veto a merge for good, since a cluster's tokens only grow;
must-links are merged first, before any linkage is looked at.

Candidate merges never come from an all-pairs matrix. Each cluster starts with its k nearest
clusters by normalised mean embedding (exact blocked kNN or HNSW, recognition.cluster.knn); a
merged cluster inherits the union of its parents' candidates, trimmed to the `max_candidates`
nearest; pairs whose RMS member distance (exact from cluster sums) is far beyond the limit are
not scored. When no candidate is left, a new kNN graph of the merged clusters gives the clusters
that trimming dropped another round (at most `rounds`). Bounds, for m pass-1 clusters and n faces
of dimension d:
  memory  O(n d) embeddings + O(m d) cluster sums + O(m (k + max_candidates)) candidate sets and
          heap entries: no m x m matrix;
  time    per round a kNN graph (exact O(m^2 d) BLAS in blocks of 1024 rows, or HNSW
          ~O(m log m)) + O(m k) initial linkages + per merge at most max_candidates linkages of
          O(max_pairs d) each: O(m (k + max_candidates) max_pairs d), linear in m.
A pair outside this graph never merges; a person split across distant clusters is left to the
gallery's merge suggestions.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import ArrayLike, NDArray

from recognition.cluster.constraints import Constraints, LinkState, must_link_pairs
from recognition.cluster.knn import knn_graph
from recognition.cluster.pass1 import present_unit_rows
from recognition.cluster_settings import PASS2, Pass2Settings
from recognition.embeddings import unit_rows


def batched_median_linkage(
    unit: NDArray[np.float32], flat: NDArray[np.int64], offsets: NDArray[np.int64], sizes: NDArray[np.int64],
    pair_a: NDArray[np.int64], pair_b: NDArray[np.int64], max_pairs: int, rng: np.random.Generator,
    chunk: int = 1 << 18,
) -> NDArray[np.float64]:
    """Median member-to-member distance for many cluster pairs at once.

    Cluster c's members are flat[offsets[c] : offsets[c] + sizes[c]] (rows of `unit`). Pair p
    compares clusters pair_a[p] and pair_b[p]: all na*nb member pairs when that is at most
    `max_pairs`, else `max_pairs` member pairs drawn at random. Fully vectorised: one gathered
    dot product per chunk of member pairs and a segmented median by sorting."""
    out = np.empty(len(pair_a), np.float64)
    na, nb = sizes[pair_a], sizes[pair_b]
    full = na * nb <= max_pairs
    counts = np.where(full, na * nb, max_pairs)
    ends = np.cumsum(counts)
    p0 = 0
    while p0 < len(pair_a):
        # Pairs p0..p1 whose member pairs fit in one chunk (at least one pair per round).
        base = ends[p0 - 1] if p0 else 0
        p1 = max(int(np.searchsorted(ends, base + chunk, side="right")), p0 + 1)
        c = counts[p0:p1]
        seg = np.repeat(np.arange(p1 - p0), c)
        local = np.arange(int(c.sum())) - np.repeat(np.cumsum(c) - c, c)
        a_n, b_n, f = na[p0:p1][seg], nb[p0:p1][seg], full[p0:p1][seg]
        ia = np.where(f, local // np.maximum(b_n, 1), (rng.random(len(seg)) * a_n).astype(np.int64))
        ib = np.where(f, local % np.maximum(b_n, 1), (rng.random(len(seg)) * b_n).astype(np.int64))
        rows = flat[offsets[pair_a[p0:p1]][seg] + ia]
        cols = flat[offsets[pair_b[p0:p1]][seg] + ib]
        cos = np.einsum("ij,ij->i", unit[rows], unit[cols])
        out[p0:p1] = _segment_median_distance(cos, seg, c)
        p0 = p1
    return out


def _segment_median_distance(
    cos: NDArray, seg: NDArray[np.int64], counts: NDArray[np.int64]
) -> NDArray[np.float64]:
    """Median of each contiguous-or-not segment of cosines, as a distance. Sorting seg*4 + cos
    (cosines lie in [-1, 1]) sorts by segment then value in one float sort."""
    keys = np.sort(seg * 4.0 + cos)
    first = np.cumsum(counts) - counts
    lo = np.arange(len(counts))
    median = 0.5 * (keys[first + (counts - 1) // 2] + keys[first + counts // 2]) - lo * 4.0
    # Distance is monotone in cosine, so the median distance is the distance of the median cosine.
    return np.sqrt(np.maximum(2.0 - 2.0 * median, 0.0))


def one_to_many_median_linkage(
    unit: NDArray[np.float32], a: NDArray[np.int64], others: list[NDArray[np.int64]], max_pairs: int,
    rng: np.random.Generator,
) -> NDArray[np.float64]:
    """Median linkage of cluster `a` to each cluster in `others` (the step after every merge).

    All pairs come from one matrix product (rows of a x members of the others), which reads each
    member once instead of once per pair. A pair with more than `max_pairs` member pairs is
    scored on a random sub-grid instead: up to sqrt(max_pairs) random members of a (drawn once,
    shared by all the others) against a random subset of the other's members, about
    `max_pairs` member pairs in all."""
    sizes = np.array([len(o) for o in others], np.int64)
    rows = a
    if len(a) * sizes.min(initial=0) > max_pairs or len(a) ** 2 > max_pairs:
        side = max(int(np.sqrt(max_pairs)), 1)
        if len(a) > side:
            rows = a[rng.choice(len(a), side, replace=False)]
    take = np.where(len(a) * sizes <= max_pairs, sizes, np.maximum(max_pairs // len(rows), 1))
    take = np.minimum(take, sizes)
    cols = np.concatenate([o if t == len(o) else o[rng.choice(len(o), t, replace=False)]
                           for o, t in zip(others, take.tolist(), strict=True)])
    # Exact pairs must use all of a's members, sampled ones the shared sub-sample.
    out = np.empty(len(others), np.float64)
    exact = take == sizes
    exact &= len(a) * sizes <= max_pairs
    col_start = np.cumsum(take) - take
    for use_all, mask in ((True, exact), (False, ~exact)):
        if not mask.any():
            continue
        left = a if use_all else rows
        idx = np.flatnonzero(mask)
        block = np.concatenate([cols[col_start[i]:col_start[i] + take[i]] for i in idx.tolist()])
        # (sum of columns, |left|): each other's rows are contiguous, so raveling groups by pair.
        cos = (unit[block] @ unit[left].T).ravel()
        counts = take[idx] * len(left)
        out[idx] = _segment_median_distance(cos, np.repeat(np.arange(len(idx)), counts), counts)
    return out


def median_linkage(
    unit: NDArray[np.float32], a: NDArray[np.int64], b: NDArray[np.int64], max_pairs: int,
    rng: np.random.Generator,
) -> float:
    """Median Euclidean distance between members of a and b (rows of unit vectors), exact up to
    `max_pairs` pairs and over `max_pairs` random pairs beyond."""
    flat = np.concatenate([a, b]).astype(np.int64)
    sizes = np.array([len(a), len(b)])
    offsets = np.array([0, len(a)])
    links = batched_median_linkage(unit, flat, offsets, sizes, np.array([0]), np.array([1]), max_pairs, rng)
    return float(links[0])


def self_median_distance(unit: NDArray[np.float32], a: NDArray[np.int64], max_pairs: int,
                         rng: np.random.Generator) -> float:
    """Median distance between distinct members of one cluster (exact or over sampled pairs)."""
    n = len(a)
    if n < 2:
        return float("nan")
    if n * (n - 1) // 2 <= max_pairs:
        i, j = np.triu_indices(n, 1)
    else:
        i = rng.integers(n, size=max_pairs)
        j = (i + 1 + rng.integers(n - 1, size=max_pairs)) % n  # any member but i
    cos = np.einsum("ij,ij->i", unit[a[i]], unit[a[j]])
    return float(np.sqrt(max(2.0 - 2.0 * float(np.median(cos)), 0.0)))


def _csr(members: list[NDArray[np.int64]], clusters: list[int]) -> tuple[NDArray, NDArray, NDArray]:
    """Members of the listed clusters as (flat, offsets, sizes), indexed by position in the list."""
    parts = [members[c] for c in clusters]
    sizes = np.array([len(p) for p in parts], np.int64)
    offsets = np.cumsum(sizes) - sizes
    return np.concatenate(parts).astype(np.int64), offsets, sizes


class MedianLinkageHAC:
    """Pass 2 as a scikit-learn-shaped estimator.

    fit(faces, initial_labels, constraints) -> self; `labels_` (n,), `merges_` [(kept, absorbed,
    linkage)], `skipped_must_links_` (pairs a cannot-link overruled), `crowded_` [(a, b,
    linkage)] merges refused by the neighbourhood test. Rows of `faces` that are NaN
    (body-only observations) keep their initial cluster and take no part in linkages.
    """

    def __init__(self, settings: Pass2Settings = PASS2, threshold: float | None = None,
                 small_cluster_bonus: float | None = None) -> None:
        self.settings = settings
        self.threshold = settings.threshold if threshold is None else threshold
        self.small_cluster_bonus = (
            settings.small_cluster_bonus if small_cluster_bonus is None else small_cluster_bonus)

    def _crowded(self, a: int, b: int, others: set[int], sums: NDArray, counts: NDArray,
                 alive: NDArray) -> bool:
        """Whether the pair fails to stand out from its neighbourhood: the faces of other nearby
        clusters that are about as close to a + b (RMS linkage within crowd_margin of the pair's
        own) outnumber crowd_ratio times the pair's faces. Where many people look alike to the
        embedding (babies, a family's siblings), every candidate is about equally close, and
        joining any two of them is a guess."""
        near = np.array([x for x in others - {a, b} if alive[x]], np.int64)
        if not len(near):
            return False
        pair_sum, pair_count = sums[a] + sums[b], counts[a] + counts[b]
        rms_ab = np.sqrt(max(2.0 - 2.0 * float(sums[a] @ sums[b]) / float(counts[a] * counts[b]), 0.0))
        rms_x = np.sqrt(np.maximum(2.0 - 2.0 * (sums[near] @ pair_sum) / (counts[near] * pair_count), 0.0))
        close = near[rms_x < rms_ab + self.settings.crowd_margin]
        crowd = float(counts[close].sum())
        if crowd <= self.settings.crowd_ratio * float(pair_count):
            return False
        # A crowd that is itself as tight as one person's photos is one person in pieces (a
        # friend seen once per outing): no ambiguity in joining any two of them.
        group_sum = pair_sum + sums[close].sum(axis=0)
        group_count = float(pair_count) + crowd
        mean_sq = (2.0 - 2.0 * float(group_sum @ group_sum) / group_count**2) * group_count / (group_count - 1)
        return float(np.sqrt(max(mean_sq, 0.0))) >= self.settings.crowd_tight

    def limit(self, size_a: NDArray, size_b: NDArray) -> NDArray[np.float64]:
        """Merge threshold for clusters of these face counts: `threshold` when one side holds
        min_larger_faces faces or more (plus `small_cluster_bonus` / sqrt(smaller size), off by
        default), `found_threshold` when neither does: two small look-alike clusters in a library
        of strangers are mostly two people (Pass2Settings)."""
        smaller = np.maximum(np.minimum(size_a, size_b), 1)
        grows = np.maximum(size_a, size_b) >= self.settings.min_larger_faces
        return np.where(grows, self.threshold + self.small_cluster_bonus / np.sqrt(smaller),
                        self.settings.found_threshold)

    def fit_predict(self, faces: ArrayLike, initial_labels: ArrayLike | None = None,
                    constraints: Constraints | None = None) -> NDArray[np.int64]:
        return self.fit(faces, initial_labels, constraints).labels_

    def _allowed(self, links: NDArray, size_a: NDArray, size_b: NDArray, intra_a: NDArray,
                 intra_b: NDArray) -> NDArray[np.bool_]:
        """The merge rule: under the size-aware limit and, when both clusters are big enough to
        know their own spread, not much farther apart than their own members are."""
        ok = links < self.limit(size_a, size_b)
        big = np.minimum(size_a, size_b) >= self.settings.gap_min_size
        gap = links - np.fmax(intra_a, intra_b)
        return ok & ~(big & (gap >= self.settings.max_gap))

    def _worth_scoring(self, sums: NDArray, counts: NDArray, a: NDArray, b: NDArray) -> NDArray[np.bool_]:
        """Skip pairs whose root-mean-square member distance, known exactly from the clusters'
        sums (E|x - y|^2 = 2 - 2 mean_a . mean_b for unit vectors), is beyond the threshold by more
        than `prune_margin`: their median would have to sit far below their RMS to merge."""
        dot = np.einsum("ij,ij->i", sums[a], sums[b]) / (counts[a] * counts[b])
        rms = np.sqrt(np.maximum(2.0 - 2.0 * dot, 0.0))
        return rms < self.limit(counts[a], counts[b]) + self.settings.prune_margin

    def fit(self, faces: ArrayLike, initial_labels: ArrayLike | None = None,
            constraints: Constraints | None = None) -> MedianLinkageHAC:
        s = self.settings
        rng = np.random.default_rng(s.seed)
        unit, has_face = present_unit_rows(np.asarray(faces))
        n = len(unit)
        start = np.arange(n) if initial_labels is None else np.asarray(initial_labels)
        codes = np.unique(start, return_inverse=True)[1].ravel().astype(np.int64)
        m = int(codes.max(initial=-1)) + 1
        order = np.argsort(codes, kind="stable")
        all_members = np.split(order, np.flatnonzero(np.diff(codes[order])) + 1) if n else []
        members: list[NDArray[np.int64]] = [g[has_face[g]] for g in all_members]
        sums = np.zeros((m, unit.shape[1]), np.float32)
        np.add.at(sums, codes[has_face], unit[has_face])
        counts = np.bincount(codes[has_face], minlength=m).astype(np.float32)
        parent = np.arange(m)
        version = np.zeros(m, np.int64)
        alive = np.ones(m, bool)
        constraints = constraints or Constraints()
        state = LinkState(constraints, n)
        for c, group in enumerate(all_members):
            state.open(c, group)

        def find(x: int) -> int:
            root = x
            while parent[root] != root:
                root = parent[root]
            while parent[x] != root:
                parent[x], x = root, parent[x]
            return int(root)

        merges: list[tuple[int, int, float]] = []

        def merge(a: int, b: int, linkage: float) -> int:
            keep, drop = (a, b) if len(members[a]) >= len(members[b]) else (b, a)
            members[keep] = np.concatenate([members[keep], members[drop]])
            members[drop] = members[drop][:0]
            sums[keep] += sums[drop]
            counts[keep] += counts[drop]
            parent[drop] = keep
            alive[drop] = False
            version[keep] += 1
            state.merge(keep, drop, keep)
            merges.append((keep, drop, linkage))
            return keep

        # Each cluster's own median member distance, computed when first needed after a change
        # (only for clusters of gap_min_size faces or more: smaller ones never use it).
        intra = np.full(m, np.nan)
        intra_version = np.full(m, -1, np.int64)

        def intra_of(clusters: NDArray[np.int64]) -> NDArray[np.float64]:
            big = counts[clusters] >= s.gap_min_size
            stale = clusters[big & (intra_version[clusters] != version[clusters])]
            for c in np.unique(stale).tolist():
                intra[c] = self_median_distance(unit, members[c], s.max_pairs, rng)
                intra_version[c] = version[c]
            return intra[clusters]

        skipped: list[tuple[int, int]] = []
        crowded: list[tuple[int, int, float]] = []
        for i, j in must_link_pairs(constraints, n).tolist():
            a, b = find(codes[i]), find(codes[j])
            if a == b:
                continue
            if state.conflict(a, b):
                skipped.append((i, j))
                continue
            merge(a, b, 0.0)

        # Rounds: merging on the candidate graph until the heap is empty, then a fresh kNN graph
        # of the merged clusters, so pieces whose candidates were trimmed away from a growing
        # cluster get another look. Stops when a round merges nothing.
        trimmed: set[int] = set()
        for round_index in range(s.rounds):
            merges_before = len(merges)
            # Candidate graph over live clusters that have faces.
            live = np.flatnonzero(alive & (np.array([len(x) for x in members]) > 0))
            neighbours: dict[int, set[int]] = {int(c): set() for c in live}
            if len(live) > 1:
                means = sums[live]
                idx, _ = knn_graph(means, s.neighbours, exact_max=s.exact_knn_max, m=s.hnsw_m, seed=s.seed,
                                   ef_construction=s.hnsw_ef_construction, ef_search=s.hnsw_ef_search)
                for row, c in enumerate(live.tolist()):
                    for j in idx[row].tolist():
                        other = int(live[j])
                        if other != c:
                            neighbours[c].add(other)
                            neighbours[other].add(c)

            # Round 1 scores every edge; later rounds only edges of clusters that lost a candidate
            # to trimming (every other pair was already scored at its current versions).
            focus = None if round_index == 0 else {c for c in trimmed if alive[c]}
            trimmed = set()
            edge_a, edge_b = [], []
            for a, nbrs in neighbours.items():
                for b in nbrs:
                    if a < b and (focus is None or a in focus or b in focus) and not state.conflict(a, b):
                        edge_a.append(a)
                        edge_b.append(b)
            heap: list[tuple[float, float, int, int, int, int]] = []
            if edge_a:
                worth = self._worth_scoring(sums, counts, np.array(edge_a), np.array(edge_b))
                edge_a = np.array(edge_a)[worth].tolist()
                edge_b = np.array(edge_b)[worth].tolist()
            if edge_a:
                flat, offsets, sizes = _csr(members, list(range(m)))
                links = batched_median_linkage(unit, flat, offsets, sizes, np.array(edge_a), np.array(edge_b),
                                               s.max_pairs, rng)
                ea, eb = np.array(edge_a), np.array(edge_b)
                # Heap key: how far below its own limit a pair is, so the surest merge goes first.
                margin = links - self.limit(counts[ea], counts[eb])
                allowed = self._allowed(links, counts[ea], counts[eb], intra_of(ea), intra_of(eb))
                for i in np.flatnonzero(allowed).tolist():
                    a, b = edge_a[i], edge_b[i]
                    heap.append((float(margin[i]), float(links[i]), a, b, int(version[a]), int(version[b])))
            heapq.heapify(heap)

            while heap:
                _, link, a, b, va, vb = heapq.heappop(heap)
                if not (alive[a] and alive[b]) or version[a] != va or version[b] != vb:
                    continue
                if state.conflict(a, b):
                    neighbours[a].discard(b)
                    neighbours[b].discard(a)
                    continue
                if self._crowded(a, b, neighbours[a] | neighbours[b], sums, counts, alive):
                    crowded.append((a, b, link))
                    continue
                keep = merge(a, b, link)
                drop = b if keep == a else a
                cand = (neighbours[keep] | neighbours.pop(drop)) - {keep, drop}
                for x in cand:
                    neighbours[x].discard(drop)
                    neighbours[x].add(keep)
                cand_list = [x for x in cand if alive[x]]
                if len(cand_list) > s.max_candidates:
                    cand_arr = np.array(cand_list)
                    mean_keep = unit_rows(sums[keep])
                    cand_means = sums[cand_arr]
                    cos = cand_means @ mean_keep / np.maximum(np.linalg.norm(cand_means, axis=1), 1e-12)
                    kept = cand_arr[np.argsort(-cos)[: s.max_candidates]].tolist()
                    for x in set(cand_list) - set(kept):
                        neighbours[x].discard(keep)
                        trimmed.add(x)
                    cand_list = kept
                neighbours[keep] = set(cand_list)
                others = np.array([x for x in cand_list if not state.conflict(keep, x)], np.int64)
                keeps = np.full(len(others), keep)
                if len(others):
                    others = others[self._worth_scoring(sums, counts, keeps, others)]
                    keeps = keeps[: len(others)]
                if not len(others):
                    continue
                links = one_to_many_median_linkage(unit, members[keep], [members[x] for x in others.tolist()],
                                                   s.max_pairs, rng)
                margin = links - self.limit(counts[keeps], counts[others])
                allowed = self._allowed(links, counts[keeps], counts[others], intra_of(keeps), intra_of(others))
                for i in np.flatnonzero(allowed).tolist():
                    x = int(others[i])
                    entry = (float(margin[i]), float(links[i]), keep, x, int(version[keep]), int(version[x]))
                    heapq.heappush(heap, entry)

            if len(merges) == merges_before:
                break

        roots = np.array([find(c) for c in range(m)], np.int64)
        self.labels_ = np.unique(roots, return_inverse=True)[1].ravel().astype(np.int64)[codes]
        self.merges_ = merges
        self.skipped_must_links_ = skipped
        self.crowded_ = crowded
        self.n_clusters_ = int(self.labels_.max(initial=-1)) + 1
        return self
