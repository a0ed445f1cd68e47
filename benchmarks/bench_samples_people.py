"""The People album of the samples, scored: `memories index` + `memories cluster` on samples/ (the
app's own path: moments, photos, the unclear-face filter, XMP names), then pairwise and BCubed
precision/recall of the machine's clusters and of the people it shows, against the identities
of ../shared/data/deepface/labels.csv.

    .venv/bin/python -m benchmarks.bench_samples_people [--json]

Truth: a face of a one-face photo is the photo's labelled identity. Faces of group photos carry no
label in the set, so they are left out of the scores (they are counted, and a look at the People
album shows where they went).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import tempfile
from collections import Counter
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
DEEPFACE = REPO.parent / "shared" / "data" / "deepface"


def main() -> None:
    from memories.clustering import load_faces
    from memories.pipeline import cluster_and_graph, index_and_assign
    from memories.store import Library
    from recognition.metrics import bcubed_prf, clustering_report

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if not (DEEPFACE / "labels.csv").is_file():
        sys.exit(f"missing {DEEPFACE / 'labels.csv'}: the deepface set is needed for the truth")
    with open(DEEPFACE / "labels.csv", newline="") as handle:
        label_of = {Path(r["image"]).name: r["identity"] for r in csv.DictReader(handle) if r["identity"]}
    with tempfile.TemporaryDirectory() as folder, Library(Path(folder) / "lib") as library:
        index_and_assign(library, [REPO / "samples" / "photos"])
        cluster_and_graph(library)
        faces = load_faces(library)
        rows = library.db.execute(
            "SELECT o.id, o.cluster_id, a.path FROM observations o JOIN assets a ON a.id = o.asset_id"
        ).fetchall()
    info = {int(r[0]): (r[1], Path(r[2]).name) for r in rows}
    per_photo = Counter(int(a) for a in faces.asset_ids)
    truth, clusters, people = [], [], []
    for i, face_id in enumerate(faces.ids.tolist()):
        cluster, name = info[face_id]
        if per_photo[int(faces.asset_ids[i])] == 1 and name in label_of:
            truth.append(label_of[name])
            clusters.append(-1 if cluster is None else int(cluster))
            # The person after `cluster` (-1: not in the People album).
            people.append(int(faces.previous_person[i]))
    people_arr = np.array(people)
    result = {
        "faces": len(truth),
        "unlabelled_group_faces": len(faces) - len(truth),
        "identities": len(set(truth)),
        "clusters": clustering_report(truth, clusters),
        "people": clustering_report(truth, people_arr),
        "people_shown": int(len(np.unique(faces.previous_person[faces.previous_person >= 0]))),
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"samples: {result['faces']} labelled clear faces ({result['unlabelled_group_faces']} more in "
          f"group photos), {result['identities']} identities, {result['people_shown']} people in the album")
    for what in ("clusters", "people"):
        r = result[what]
        b3 = bcubed_prf(truth, clusters if what == "clusters" else people_arr)
        print(f"{what:<9} pairwise P {r['pairwise']['precision']:.3f} R {r['pairwise']['recall']:.3f}  "
              f"BCubed P {b3.precision:.3f} R {b3.recall:.3f} F {b3.f:.3f}  impure {r['impure_clusters']}")


if __name__ == "__main__":
    main()
