"""Body re-identification: is a person found again by their clothes from another camera view?

On a set of body crops with `identity` and `view` columns (cuhk01_reid: view A frontal or from
behind, view B in profile), every view-B crop is a query against every view-A crop (the gallery):
rank-1 (the nearest gallery crop is the same person) and mean average precision, for each body
descriptor. Then the moment protocol: body-only pass-1 clustering of synthetic moments of 10-30
people, each in view A's two shots, at the shipped body threshold. The crops are whole people, so each descriptor is measured on the upper body (the
part `memories index` embeds below a face: rows UPPER_BODY_ROWS of the crop) and on the whole
crop.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memories.evaluation.datasets import read_image_rgb

# An upper body in a standing person's crop: from the shoulders (below the head, ~1/8 of the
# height) to the hips (~1/2), as recognition.body's face-to-body box frames it.
UPPER_BODY_ROWS = (0.12, 0.55)
# Synthetic moments for body-only pass 1: how many, how many people each, the seed.
MOMENTS = 40
MOMENT_PEOPLE = (10, 30)
MOMENT_SEED = 0


@dataclass(frozen=True)
class ReidScore:
    rank1: float
    mean_ap: float
    queries: int
    gallery: int


def rank1_and_map(
    queries: np.ndarray, query_ids: np.ndarray, gallery: np.ndarray, gallery_ids: np.ndarray
) -> ReidScore:
    """Euclidean nearest neighbours of unit rows; every query has at least one true match."""
    distances = np.sqrt(np.maximum(((queries[:, None, :] - gallery[None, :, :]) ** 2).sum(-1), 0))
    order = np.argsort(distances, axis=1, kind="stable")
    same = gallery_ids[order] == query_ids[:, None]
    rank1 = float(same[:, 0].mean())
    precisions = []
    for row in same:
        hits = np.flatnonzero(row)
        precisions.append(float(np.mean(np.arange(1, len(hits) + 1) / (hits + 1))))
    return ReidScore(rank1, float(np.mean(precisions)), len(queries), len(gallery))


def read_views(dataset_dir: Path) -> list[tuple[Path, str, str]]:
    with (dataset_dir / "labels.csv").open(newline="") as handle:
        return [(dataset_dir / r["image"], r["identity"], r["view"]) for r in csv.DictReader(handle)]


def upper_body(crop: np.ndarray) -> np.ndarray:
    top, bottom = (round(f * crop.shape[0]) for f in UPPER_BODY_ROWS)
    return crop[top:bottom]


def describe(crops: list[np.ndarray]) -> dict[str, np.ndarray]:
    """The body descriptors compared, each a unit row per crop: the shipped embedding
    (recognition.body_embed) and its two parts alone, the colour histogram being the baseline."""
    from recognition.body_embed import BodyEmbedder, colour_descriptor, combine_body_parts
    from recognition.embeddings import unit_rows

    embedder = BodyEmbedder()
    features = embedder.features(crops)
    colours = np.stack([colour_descriptor(c) for c in crops])
    return {
        "shipped (MobileNetV2 + colour)": combine_body_parts(features, colours, embedder.settings),
        "colour histogram": colours,
        "MobileNetV2 alone": unit_rows(np.asarray(features, np.float64)),
    }


def body_only_moments(
    embeddings: np.ndarray, ids: np.ndarray, moments: int = MOMENTS, seed: int = MOMENT_SEED
) -> dict[str, float]:
    """Body-only pass 1 (recognition.cluster.pass1, faces absent) on synthetic moments of 10-30
    people, each seen in every crop given (one camera view, two shots): pairwise precision and
    recall over all moments' pairs, at the shipped body threshold."""
    from recognition.cluster.pass1 import MomentClusterer
    from recognition.cluster_settings import PASS1

    rng = np.random.default_rng(seed)
    people = np.unique(ids)
    true_pairs = predicted_pairs = both = 0
    for _ in range(moments):
        chosen = rng.choice(people, int(rng.integers(MOMENT_PEOPLE[0], MOMENT_PEOPLE[1] + 1)), replace=False)
        rows = np.flatnonzero(np.isin(ids, chosen))
        no_faces = np.full((len(rows), 1), np.nan, np.float32)
        labels = MomentClusterer().fit(no_faces, embeddings[rows]).labels_
        upper = np.triu_indices(len(rows), 1)
        same_true = (ids[rows][:, None] == ids[rows][None])[upper]
        same_pred = (labels[:, None] == labels[None])[upper]
        true_pairs += int(same_true.sum())
        predicted_pairs += int(same_pred.sum())
        both += int((same_true & same_pred).sum())
    return {
        "body_threshold": PASS1.body_threshold,
        "moments": moments,
        "pairwise_precision": round(both / predicted_pairs, 4) if predicted_pairs else 1.0,
        "pairwise_recall": round(both / true_pairs, 4) if true_pairs else 0.0,
    }


def evaluate_reid(dataset_dir: str | Path) -> dict[str, Any]:
    dataset_dir = Path(dataset_dir)
    rows = read_views(dataset_dir)
    crops = [read_image_rgb(path) for path, _, _ in rows]
    ids = np.array([identity for _, identity, _ in rows])
    is_query = np.array([view == "B" for _, _, view in rows])
    results: dict[str, Any] = {}
    moments: dict[str, Any] = {}
    for region, cut in (("upper body", upper_body), ("whole crop", lambda c: c)):
        described = describe([cut(c) for c in crops])
        if region == "upper body":  # what pass 1 sees: one view (one camera, two shots)
            shipped = described["shipped (MobileNetV2 + colour)"]
            moments = body_only_moments(shipped[~is_query], ids[~is_query])
        for name, vectors in described.items():
            v = vectors.astype(np.float64)
            score = rank1_and_map(v[is_query], ids[is_query], v[~is_query], ids[~is_query])
            results.setdefault(region, {})[name] = {
                "rank1": round(score.rank1, 4),
                "mAP": round(score.mean_ap, 4),
                "queries": score.queries,
                "gallery": score.gallery,
            }
    return {"dataset": dataset_dir.name, "identities": len(set(ids.tolist())), "results": results,
            "body_only_moments": moments}


def format_reid_report(result: dict[str, Any]) -> str:
    lines = [f"{result['dataset']}: {result['identities']} people, view B queries against view A"]
    for region, scores in result["results"].items():
        for name, s in scores.items():
            lines.append(f"{region:11s} {name:32s} rank-1 {s['rank1']:.3f}  mAP {s['mAP']:.3f}")
    m = result["body_only_moments"]
    lines.append(
        f"body-only pass 1, {m['moments']} moments of {MOMENT_PEOPLE[0]}-{MOMENT_PEOPLE[1]} people (view A, two shots each), "
        f"body threshold {m['body_threshold']}: pairwise precision {m['pairwise_precision']:.3f}  "
        f"recall {m['pairwise_recall']:.3f}"
    )
    return "\n".join(lines)
