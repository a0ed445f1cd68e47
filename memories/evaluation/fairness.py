"""`memories eval fairness`: the same recognition quality for every age, gender and skin tone.

Four measurements, each per group with a bootstrap interval (memories.evaluation.group_rates):
- detection recall per perceived skin type, gender and age on wider_faces, for each detector the
  project ships (memories.evaluation.fairness_detection);
- the unclear-face filter's keep rate per skin type, gender and age on the wider_faces faces the
  detector found (memories.evaluation.fairness_wild): photos as a library holds them;
- on utkface_demographics, landmark success, the unclear-face filter's keep rate and embedding
  confidence per race, gender, age group and race x gender (memories.evaluation.fairness_faces);
- impostor rates per group there: different people's pairs under the clustering's merge
  distances;
- on fiw_train, the same-person distance spread and how often relatives fall under the merge
  distance against unrelated people (the set labels no ages).

Everything is cached under the evaluation cache, so a second run takes seconds; the first run
takes a few minutes on a 2-core machine (see docs/fairness.md for the tables and what was done).
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memories.evaluation.fairness_detection import (
    DetectionFairness,
    detection_fairness,
    format_detection_fairness,
)
from memories.evaluation.fairness_faces import (
    FaceFairness,
    FamilySpread,
    ImpostorFairness,
    face_fairness,
    family_spread,
    format_face_fairness,
    format_family_spread,
    format_impostor_fairness,
    impostor_fairness,
)
from memories.evaluation.fairness_wild import WildKeep, format_wild_keep, wild_keep

SETS = {"detection": "wider_faces", "faces": "utkface_demographics", "families": "fiw_train"}
# Impostor rates are also given for adults alone: UTKFace's race x gender cells hold 12 to 36
# babies each, and babies' faces fall under any merge distance of each other.
ADULT_AGE = 18
# fiw_train's first 8,000 crops (in label order: whole families, 3.3 min to embed on 2 cores under
# load; all 15,822 took 5.8 min and the whole report then ran past 10 minutes on a cold cache).
FAMILY_CROPS = 8000


@dataclass(frozen=True)
class FairnessReport:
    detection: DetectionFairness
    wild_filter: WildKeep
    faces: FaceFairness
    impostors: ImpostorFairness
    adult_impostors: ImpostorFairness
    families: FamilySpread

    def as_dict(self) -> dict[str, Any]:
        return {
            "detection": self.detection.as_dict(),
            "wild_filter": self.wild_filter.as_dict(),
            "faces": self.faces.as_dict(),
            "impostors": self.impostors.as_dict(),
            "adult_impostors": self.adult_impostors.as_dict(),
            "families": self.families.as_dict(),
        }


def _progress(label: str) -> Callable[[int, int], None]:
    def report(done: int, total: int) -> None:
        print(f"\rmemories: {label}: {done}/{total}", end="" if done < total else "\n", file=sys.stderr, flush=True)

    return report


def missing_sets(data: Path) -> list[str]:
    return [name for name in SETS.values() if not (data / name / "dataset.json").is_file()]


def run_fairness(data: Path, workers: int | None = None) -> FairnessReport:
    """Every measurement on the sets under `data` (a folder holding wider_faces,
    utkface_demographics and fiw_train)."""
    data = Path(data)
    missing = missing_sets(data)
    if missing:
        raise FileNotFoundError(f"{data}: missing {', '.join(missing)}")
    utk = data / SETS["faces"]
    return FairnessReport(
        detection=detection_fairness(data / SETS["detection"], progress=_progress("detecting faces"), workers=workers),
        wild_filter=wild_keep(data / SETS["detection"]),
        faces=face_fairness(utk, progress=_progress("observing faces"), workers=workers),
        impostors=impostor_fairness(utk, workers=workers),
        adult_impostors=impostor_fairness(utk, workers=workers, min_age=ADULT_AGE),
        families=family_spread(
            data / SETS["families"], progress=_progress("embedding families"), workers=workers, limit=FAMILY_CROPS
        ),
    )


def format_fairness(report: FairnessReport) -> str:
    return "\n\n".join(
        [
            format_detection_fairness(report.detection),
            format_wild_keep(report.wild_filter),
            format_face_fairness(report.faces),
            format_impostor_fairness(report.impostors),
            format_impostor_fairness(report.adult_impostors),
            format_family_spread(report.families),
        ]
    )
