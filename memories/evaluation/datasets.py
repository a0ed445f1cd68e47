"""Reading a labelled development set as its dataset.json says (see /work/shared/data/README.md).

- {"kind": "photos", "labelled_face": "centre"}: whole photos, the labelled person is the detected
  face nearest the image centre.
- {"kind": "face_crops"}: each image is a face crop; landmarks are found inside the whole image.
- {"kind": "photos", "boxes": "boxes.json"}: photos with ground-truth face boxes (detection only).
- "album_column": the column naming the album (a separate library) of each image.
- "photo_column": the column naming the source photo (faces of one photo are different people).
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image, ImageOps


@dataclass(frozen=True)
class Dataset:
    name: str
    root: Path
    kind: str  # "photos" or "face_crops"
    paths: list[Path]
    identities: np.ndarray  # str per image ("" when unlabelled)
    albums: np.ndarray | None = None  # str per image, from album_column
    photo_ids: np.ndarray | None = None  # str per image, from photo_column
    labelled_face: str | None = None  # "centre" for photo sets with one labelled person
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def labelled(self) -> np.ndarray:
        return self.identities != ""


def read_dataset(dataset_dir: str | Path) -> Dataset:
    root = Path(dataset_dir)
    meta = json.loads((root / "dataset.json").read_text())
    kind = meta["kind"]
    labels = root / "labels.csv"
    if labels.is_file():
        with labels.open(newline="") as f:
            rows = list(csv.DictReader(f))
        paths = [root / r["image"] for r in rows]
        identities = np.array([r.get("identity", "") or "" for r in rows], dtype=object)
    elif "boxes" in meta:
        names = sorted(read_boxes(root))
        rows = [{"image": n} for n in names]
        paths = [root / n for n in names]
        identities = np.array([""] * len(names), dtype=object)
    else:
        raise FileNotFoundError(f"{root}: neither labels.csv nor a boxes file")

    def column(key: str) -> np.ndarray | None:
        col = meta.get(key)
        return None if col is None else np.array([r.get(col, "") or "" for r in rows], dtype=object)

    return Dataset(
        name=root.name,
        root=root,
        kind=kind,
        paths=paths,
        identities=identities,
        albums=column("album_column"),
        photo_ids=column("photo_column"),
        labelled_face=meta.get("labelled_face"),
        meta=meta,
    )


def read_boxes(dataset_dir: Path) -> dict[str, np.ndarray]:
    """image path (relative to the set) -> N x 4 ground-truth boxes (x, y, w, h); all splits pooled.

    The boxes are under dataset.json's "box_key" ("faces_xywh" unless it says otherwise)."""
    meta = json.loads((dataset_dir / "dataset.json").read_text())
    key = meta.get("box_key", "faces_xywh")
    raw = json.loads((dataset_dir / meta["boxes"]).read_text())
    # boxes.json groups images by split ("training"/"testing"); a flat mapping is accepted too.
    groups = raw.values() if all(isinstance(v, dict) and key not in v for v in raw.values()) else [raw]
    boxes: dict[str, np.ndarray] = {}
    for group in groups:
        for image, entry in group.items():
            boxes[image] = np.asarray(entry[key], dtype=np.float64).reshape(-1, 4)
    return boxes


def read_image_rgb(path: str | Path) -> np.ndarray:
    """H x W x 3 uint8 RGB, EXIF orientation applied (grey images become three equal channels)."""
    with Image.open(path) as im:
        im = ImageOps.exif_transpose(im)
        return np.ascontiguousarray(np.asarray(im.convert("RGB")))
