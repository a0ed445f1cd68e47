"""Clustering evaluation: ours at its defaults beside each baseline at its own best threshold.

Protocols that look like real libraries (`library_protocol`): `pool` ignores the albums and
clusters the whole set as one library; `cap` keeps at most N faces per identity (seeded); and
`distractors` adds every clear face found in other sets as strangers, each its own identity
(faces of one stranger photo cannot-link, like any photo). With albums, the strangers are dealt
round-robin over the albums. Reports carry the impure clusters (recognition.metrics) besides
pairwise and BCubed figures.

Every method sees the same L2-normalised embeddings. With albums, each album is clustered on its
own (it is a separate library) and the metrics are pooled over all faces. Baselines are swept
over their threshold grid and reported at the threshold that maximises their pooled BCubed F,
which flatters them; ours runs once, at its defaults. "seconds" is the wall time of one run (for a
baseline, the run at its best threshold; HAC builds one dendrogram and cuts it at every threshold,
so its figure is that share). A sweep stops early once F has fallen well past its peak
(SWEEP_STOP_BELOW_BEST). Ablations: ours without pass 2, ours
without the body term (only when bodies are given), and "assign the rest": cluster half of each
album, build the gallery, and assign the held-out half by sparse coding or by nearest exemplar.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist

from recognition.assign import SparseCodingAssigner, resolve_photo_conflicts
from recognition.baselines import BASELINES, Baseline
from recognition.cluster import Gallery, TwoPassClusterer
from recognition.embeddings import unit_rows
from recognition.metrics import clustering_report

Labels = NDArray[np.int64]
CAP_SEED = 20240601


@dataclass(frozen=True)
class ClusteringInput:
    """What one evaluation clusters: unit embeddings and their truth, albums and photos."""

    embeddings: NDArray[np.float32]
    identities: NDArray
    albums: NDArray | None
    photo_ids: NDArray | None
    protocol: str  # e.g. "pooled, cap 20, +467 strangers (wider_faces)"


@dataclass(frozen=True)
class Strangers:
    name: str  # the set they come from
    embeddings: NDArray[np.float32]
    images: NDArray[np.int64]  # each face's image, for cannot-links within a stranger photo


def cap_per_identity(identities: ArrayLike, cap: int, seed: int = CAP_SEED) -> NDArray[np.int64]:
    """Sorted row indices keeping at most `cap` faces per identity (a seeded random choice)."""
    ids = np.asarray(identities)
    rng = np.random.default_rng(seed)
    keep = [
        rows if len(rows) <= cap else rng.choice(rows, cap, replace=False)
        for rows in (np.flatnonzero(ids == i) for i in np.unique(ids))
    ]
    return np.sort(np.concatenate(keep)) if keep else np.zeros(0, np.int64)


def library_protocol(
    embeddings: ArrayLike, identities: ArrayLike, albums: ArrayLike | None = None,
    photo_ids: ArrayLike | None = None, *, pool: bool = False, cap: int | None = None,
    distractors: Sequence[Strangers] = (),
) -> ClusteringInput:
    """A labelled set turned into the library the evaluation clusters (see the module doc)."""
    x = unit_rows(embeddings)
    ids = np.asarray(identities).astype(str)
    n = len(ids)
    album = None if albums is None or pool else np.asarray(albums).astype(str)
    photo = np.arange(n).astype(str) if photo_ids is None else np.asarray(photo_ids).astype(str)
    words = ["pooled" if pool and albums is not None else "albums" if album is not None else "one library"]
    if cap:
        rows = cap_per_identity(ids, cap)
        x, ids, photo = x[rows], ids[rows], photo[rows]
        album = None if album is None else album[rows]
        words.append(f"cap {cap}")
    album_names = np.unique(album) if album is not None else None
    for extra in distractors:
        k = len(extra.embeddings)
        x = np.concatenate([x, unit_rows(extra.embeddings)]) if k else x
        ids = np.concatenate([ids, [f"{extra.name}#stranger{i}" for i in range(k)]])
        photo = np.concatenate([photo, [f"{extra.name}#photo{i}" for i in extra.images.tolist()]])
        if album is not None and album_names is not None:
            album = np.concatenate([album, album_names[np.arange(k) % len(album_names)]])
        words.append(f"+{k} strangers ({extra.name})")
    has_photos = photo_ids is not None or bool(distractors)
    return ClusteringInput(x, ids, album, photo if has_photos else None, ", ".join(words))


AlbumClusterer = Callable[[NDArray[np.int64]], Labels]  # album row indices -> labels of those rows


def _album_groups(n: int, albums: ArrayLike | None) -> list[NDArray[np.int64]]:
    if albums is None:
        return [np.arange(n)]
    codes = np.unique(np.asarray(albums), return_inverse=True)[1].ravel()
    order = np.argsort(codes, kind="stable")
    return np.split(order, np.flatnonzero(np.diff(codes[order])) + 1)


def _pool(
    groups: list[NDArray[np.int64]], n: int, per_album: Callable[[NDArray[np.int64]], Labels]
) -> Labels:
    """Run a clusterer per album and give the albums disjoint label ranges (-1 stays unassigned)."""
    pooled = np.full(n, -1, np.int64)
    offset = 0
    for rows in groups:
        labels = per_album(rows)
        assigned = labels >= 0
        pooled[rows[assigned]] = labels[assigned] + offset
        offset += int(labels.max(initial=-1)) + 1
    return pooled


def _pool_precomputed(groups: list[NDArray[np.int64]], n: int, per_album: list[Labels]) -> Labels:
    it = iter(per_album)
    return _pool(groups, n, lambda rows: next(it))


def _hac_average_sweep(x: NDArray[np.float32], thresholds: Sequence[float]) -> list[Labels]:
    """One average-linkage dendrogram cut at every threshold (same result as sklearn per cut)."""
    if len(x) < 2:
        return [np.zeros(len(x), np.int64) for _ in thresholds]
    tree = linkage(pdist(x.astype(np.float64)), method="average")
    # fcluster keeps merges at height <= t; sklearn's distance_threshold keeps those < t.
    return [
        fcluster(tree, t=np.nextafter(t, 0), criterion="distance").astype(np.int64) - 1 for t in thresholds
    ]


# A baseline's sweep goes up its threshold grid and stops once BCubed F has stayed this far below
# its best for two thresholds in a row: F falls steadily past its peak as everything merges, and
# those loose thresholds are the slow ones (Chinese whispers at 0.7 on 15,822 pooled faces links
# most of 125M pairs). The reported best is unchanged.
SWEEP_STOP_BELOW_BEST = 0.05


def _best_of_sweep(
    baseline: Baseline, x: NDArray[np.float32], groups: list[NDArray[np.int64]], n: int, truth: NDArray,
    photos: NDArray | None,
) -> dict[str, Any] | None:
    """The baseline at the threshold of its grid that maximises pooled BCubed F."""
    if baseline.name == "hac_average":  # one dendrogram per album, cut at every threshold
        start = time.perf_counter()
        per_album = [_hac_average_sweep(x[rows], baseline.thresholds) for rows in groups]
        seconds = (time.perf_counter() - start) / len(baseline.thresholds)
        rows_out = [
            _row(baseline.name, t, truth, _pool_precomputed(groups, n, [s[i] for s in per_album]), photos, seconds)
            for i, t in enumerate(baseline.thresholds)
        ]
        return max(rows_out, key=lambda r: r["bcubed"]["f"], default=None)
    best: dict[str, Any] | None = None
    below = 0
    for t in baseline.thresholds:

        def at_threshold(rows: NDArray[np.int64], t: float = t) -> Labels:
            return baseline.cluster(x[rows], t)

        start = time.perf_counter()
        labels = _pool(groups, n, at_threshold)
        row = _row(baseline.name, t, truth, labels, photos, time.perf_counter() - start)
        if best is None or row["bcubed"]["f"] > best["bcubed"]["f"]:
            best, below = row, 0
        elif row["bcubed"]["f"] < best["bcubed"]["f"] - SWEEP_STOP_BELOW_BEST:
            below += 1
            if below == 2:
                break
    return best


def _row(
    name: str,
    threshold: float | None,
    truth: NDArray,
    labels: Labels,
    photo_ids: ArrayLike | None,
    seconds: float,
) -> dict[str, Any]:
    return {
        "name": name,
        "threshold": threshold,
        **clustering_report(truth, labels, photo_ids),
        "seconds": round(seconds, 3),
    }


def evaluate_clustering(
    embeddings: ArrayLike,
    identities: ArrayLike,
    albums: ArrayLike | None = None,
    photo_ids: ArrayLike | None = None,
    *,
    bodies: ArrayLike | None = None,
    moment_ids: ArrayLike | None = None,
    dataset: str = "",
    baselines: Sequence[Baseline] = BASELINES,
    ablations: bool = True,
    seed: int = 0,
) -> dict[str, Any]:
    """Cluster with ours (defaults) and every baseline (best threshold); see the module doc.

    embeddings (n, d) face embeddings (normalised here); identities (n,) truth; albums (n,)
    optional library per face; photo_ids (n,) optional photo per face (cannot-link, violations).
    """
    x = unit_rows(embeddings)
    truth = np.asarray(identities)
    n = len(x)
    groups = _album_groups(n, albums)
    photos = None if photo_ids is None else np.asarray(photo_ids)
    body_arr = None if bodies is None else np.asarray(bodies, np.float32)
    moments = None if moment_ids is None else np.asarray(moment_ids)
    methods: list[dict[str, Any]] = []

    def ours(rows: NDArray[np.int64], **options: Any) -> Labels:
        return (
            TwoPassClusterer(**options)
            .fit(
                x[rows],
                bodies=None if body_arr is None else body_arr[rows],
                moment_ids=None if moments is None else moments[rows],
                photo_ids=None if photos is None else photos[rows],
            )
            .labels_
        )

    def timed_ours(name: str, **options: Any) -> None:
        start = time.perf_counter()
        labels = _pool(groups, n, lambda rows: ours(rows, **options))
        defaults = TwoPassClusterer()
        # The threshold that decides the final merges: pass 2's, or pass 1's when pass 2 is off.
        threshold = defaults.pass2.threshold if options.get("use_pass2", True) else defaults.pass1.face_threshold
        methods.append(_row(name, threshold, truth, labels, photos, time.perf_counter() - start))

    timed_ours("ours")
    for baseline in baselines:
        best = _best_of_sweep(baseline, x, groups, n, truth, photos)
        if best is not None:
            methods.append(best)
    if ablations:
        timed_ours("ours_without_pass2", use_pass2=False)
        if body_arr is not None:
            timed_ours("ours_without_body", use_body=False)
        for rule, name in (
            ("energy", "ours_half_then_sparse_coding"),
            ("nearest_exemplar", "ours_half_then_nn"),
        ):
            start = time.perf_counter()

            def half_then_assign(rows: NDArray[np.int64], rule: str = rule) -> Labels:
                return _cluster_then_assign(x, rows, photos, ours, rule, seed)

            labels = _pool(groups, n, half_then_assign)
            methods.append(_row(name, None, truth, labels, photos, time.perf_counter() - start))
    return {"dataset": dataset, "faces": n, "identities": int(len(np.unique(truth))), "methods": methods}


def _cluster_then_assign(
    x: NDArray[np.float32], rows: NDArray[np.int64], photos: NDArray | None, ours: Callable[..., Labels],
    rule: str, seed: int,
) -> Labels:
    """Cluster a random half of the album, keep the gallery's people, assign the other half
    (respecting photos: a person already in a photo, or named twice in it, is not named again)."""
    rng = np.random.default_rng(seed)
    first = rng.random(len(rows)) < 0.5
    labels = np.full(len(rows), -1, np.int64)
    if first.sum() < 2:
        return ours(rows)
    clustered = ours(rows[first])
    gallery = Gallery().fit(x[rows[first]], clustered)
    labels[first] = clustered
    people = gallery.labels_
    if (people >= 0).any() and (~first).any():
        assigner = SparseCodingAssigner(rule=rule).fit(x[rows[first]], people)  # type: ignore[arg-type]
        predicted = assigner.predict(x[rows[~first]])
        if photos is not None:
            _, confidence = assigner.decision(x[rows[~first]])
            present: dict[object, set[object]] = {}
            for photo, person in zip(photos[rows[first]].tolist(), people.tolist(), strict=True):
                present.setdefault(photo, set()).add(person)
            predicted = resolve_photo_conflicts(predicted, confidence, photos[rows[~first]], present)
        # A known person's new faces join that person's cluster; the rest stay unassigned.
        cluster_of_person = {i: p.cluster for i, p in enumerate(gallery.people_)}
        labels[~first] = np.array([cluster_of_person.get(int(p), -1) if p != -1 else -1 for p in predicted])
    return labels


def format_clustering_table(result: dict[str, Any]) -> str:
    """One text table: a row per method."""
    head = (
        f"{result.get('dataset', '')}: {result['faces']} faces, {result['identities']} identities"
        f"{' (' + result['protocol'] + ')' if result.get('protocol') else ''}\n"
        f"{'method':<30}{'thr':>6}{'pw P':>7}{'pw R':>7}{'pw F':>7}{'B3 P':>7}{'B3 R':>7}{'B3 F':>7}"
        f"{'clusters':>9}{'single':>8}{'impure':>7}{'max':>6}{'viol':>7}{'sec':>8}"
    )
    lines = [head]
    for m in result["methods"]:
        thr = "" if m["threshold"] is None else f"{m['threshold']:.3g}"
        pw, b3 = m["pairwise"], m["bcubed"]
        lines.append(
            f"{m['name']:<30}{thr:>6}{pw['precision']:>7.3f}{pw['recall']:>7.3f}{pw['f']:>7.3f}"
            f"{b3['precision']:>7.3f}{b3['recall']:>7.3f}{b3['f']:>7.3f}{m['clusters']:>9}{m['singletons']:>8}"
            f"{m['impure_clusters']:>7}{m['largest_impure']:>6}{m['same_photo_violations']:>7}{m['seconds']:>8.2f}"
        )
    return "\n".join(lines)
