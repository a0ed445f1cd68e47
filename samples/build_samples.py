"""Rebuild samples/photos from ../shared/data/deepface (developer tool; not part of the package).

The photos are the deepface test set (MIT-licensed repository); every date, place, folder and
name below is MADE UP so that moments, trips, "on this day" and Together have something to find.
Photos are re-encoded to at most 1280 px (the whole folder stays well under 15 MB). Some get their
date and place from an XMP sidecar (both `x.jpg.xmp` and `x.xmp` styles), others from EXIF
written into the JPEG, and a few have no GPS at all, so every ingest path is exercised.
"""

from __future__ import annotations

import shutil
import sys
from datetime import datetime, timedelta
from pathlib import Path

from PIL import Image, ImageOps

SOURCE = Path(__file__).resolve().parents[2] / "shared" / "data" / "deepface" / "images"
TARGET = Path(__file__).resolve().parent / "photos"
MAX_SIDE = 1280

BERLIN = (52.5200, 13.4050)
WANNSEE = (52.4215, 13.1797)
LISBON = (38.7223, -9.1393)
SINTRA = (38.7977, -9.3906)
BARCELONA = (41.3874, 2.1686)
MUNICH = (48.1351, 11.5820)
PARIS = (48.8566, 2.3522)
HAMBURG = (53.5511, 9.9937)

# (folder, start time "YYYY-MM-DD HH:MM", UTC offset, place or None, how, photos)
# how: "xmp" = sidecar photo.jpg.xmp, "xmp2" = sidecar photo.xmp, "exif" = written into the JPEG.
MOMENTS = [
    (
        "2019/2019-04-21 Easter brunch",
        "2019-04-21 10:30",
        "+02:00",
        BERLIN,
        "xmp",
        ["img1", "img2", "img26", "img3"],
    ),
    (
        "2019/2019-11-27 Birthday",
        "2019-11-27 19:00",
        "+01:00",
        BERLIN,
        "xmp",
        ["img4", "img27", "img42", "img47", "selfie-many-people"],
    ),
    ("2020/2020-08 Lisbon", "2020-08-14 11:00", "+01:00", LISBON, "xmp2", ["img5", "img43", "couple"]),
    ("2020/2020-08 Lisbon", "2020-08-15 12:15", "+01:00", SINTRA, "xmp2", ["img6", "img44"]),
    (
        "2021/2021-07-03 Wannsee",
        "2021-07-03 14:00",
        "+02:00",
        WANNSEE,
        "xmp",
        ["img48", "img49", "img53", "img13"],
    ),
    ("2022/2022-05 Barcelona", "2022-05-21 16:00", "+02:00", BARCELONA, "xmp", ["img7", "img45", "img50"]),
    ("2022/2022-05 Barcelona", "2022-05-22 10:40", "+02:00", BARCELONA, "xmp", ["img10", "img46"]),
    (
        "2022/2022-12-24 Christmas",
        "2022-12-24 17:30",
        "+01:00",
        None,
        "xmp",
        ["img54", "img55", "img16", "img29", "img51"],
    ),
    (
        "2023/2023-06 Munich",
        "2023-06-10 09:00",
        "+02:00",
        MUNICH,
        "exif",
        ["img14", "img15", "img17", "img59", "img18", "img20"],
    ),
    (
        "2023/2023-11-27 Dinner",
        "2023-11-27 20:00",
        "+01:00",
        BERLIN,
        "exif",
        ["img11", "img11_reflection", "img28", "img30", "img31"],
    ),
    ("2024/2024-09 Paris", "2024-09-07 13:00", "+02:00", PARIS, "exif", ["img34", "img35", "img38", "img39"]),
    (
        "2025/2025-03-15 Garden party",
        "2025-03-15 15:00",
        "+01:00",
        BERLIN,
        "xmp",
        ["img32", "img33", "img36", "img37", "img40", "img41", "img19", "img67"],
    ),
    (
        "2025/2025-08 Hamburg",
        "2025-08-02 11:00",
        "+02:00",
        HAMBURG,
        "xmp2",
        [
            "img21",
            "img22",
            "img23",
            "img24",
            "img25",
            "img57",
            "img58",
            "img61",
            "img62",
            "img8",
            "img9",
            "img12",
            "img56",
        ],
    ),
]
# Two faces carry names in their XMP (MWG regions), as a photo manager would have written them.
NAMED_REGIONS = {"img1": "Ana", "img26": "Bea"}
SPACING = timedelta(minutes=17)


def xmp_text(taken: datetime, offset: str, place: tuple[float, float] | None, region: tuple | None) -> str:
    gps = ""
    if place:
        gps = f'\n   exif:GPSLatitude="{_xmp_coord(place[0], "NS")}"\n   exif:GPSLongitude="{_xmp_coord(place[1], "EW")}"'
    regions = ""
    if region:
        name, (x, y, w, h) = region
        regions = f"""
   <mwg-rs:Regions rdf:parseType="Resource">
    <mwg-rs:RegionList><rdf:Bag><rdf:li rdf:parseType="Resource">
      <mwg-rs:Name>{name}</mwg-rs:Name><mwg-rs:Type>Face</mwg-rs:Type>
      <mwg-rs:Area stArea:x="{x:.4f}" stArea:y="{y:.4f}" stArea:w="{w:.4f}" stArea:h="{h:.4f}" stArea:unit="normalized"/>
    </rdf:li></rdf:Bag></mwg-rs:RegionList>
   </mwg-rs:Regions>"""
    return f"""<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about=""
   xmlns:exif="http://ns.adobe.com/exif/1.0/"
   xmlns:mwg-rs="http://www.metadataworkinggroup.com/schemas/regions/"
   xmlns:stArea="http://ns.adobe.com/xmp/sType/Area#"
   exif:DateTimeOriginal="{taken.strftime("%Y-%m-%dT%H:%M:%S")}{offset}"{gps}>{regions}
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
"""


def _xmp_coord(value: float, refs: str) -> str:
    ref = refs[0] if value >= 0 else refs[1]
    value = abs(value)
    return f"{int(value)},{(value - int(value)) * 60:.4f}{ref}"


def _exif(image: Image.Image, taken: datetime, offset: str, place: tuple[float, float] | None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x0110] = "Sample Camera"
    exif_ifd = exif.get_ifd(0x8769)
    exif_ifd[0x9003] = taken.strftime("%Y:%m:%d %H:%M:%S")
    exif_ifd[0x9011] = offset
    if place:
        gps = exif.get_ifd(0x8825)
        for ref_tag, tag, value, refs in ((1, 2, place[0], "NS"), (3, 4, place[1], "EW")):
            gps[ref_tag] = refs[0] if value >= 0 else refs[1]
            value = abs(value)
            degrees, minutes = int(value), (value - int(value)) * 60
            gps[tag] = (float(degrees), float(int(minutes)), round((minutes - int(minutes)) * 60, 3))
    return exif


def main() -> int:
    import dlib  # the region box comes from a real detection, as a photo manager would do it

    detector = dlib.get_frontal_face_detector()
    if TARGET.exists():
        shutil.rmtree(TARGET)
    for folder, start, offset, place, how, photos in MOMENTS:
        out_dir = TARGET / folder
        out_dir.mkdir(parents=True, exist_ok=True)
        taken = datetime.strptime(start, "%Y-%m-%d %H:%M")
        for i, name in enumerate(photos):
            image = ImageOps.exif_transpose(Image.open(SOURCE / f"{name}.jpg")).convert("RGB")
            image.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
            when = taken + i * SPACING
            # Christmas: the first two photos keep the GPS off, the rest is at home.
            where = place if not (place is None and i < 2) else None
            if place is None and i >= 2:
                where = BERLIN
            destination = out_dir / f"{name}.jpg"
            region = None
            if name in NAMED_REGIONS:
                import numpy as np

                faces = detector(np.asarray(image), 1)
                box = max(faces, key=lambda r: r.area())
                region = (
                    NAMED_REGIONS[name],
                    (
                        (box.left() + box.width() / 2) / image.width,
                        (box.top() + box.height() / 2) / image.height,
                        box.width() / image.width,
                        box.height() / image.height,
                    ),
                )
            if how == "exif":
                image.save(destination, quality=85, exif=_exif(image, when, offset, where))
            else:
                image.save(destination, quality=85)
                sidecar = (
                    destination.with_name(destination.name + ".xmp")
                    if how == "xmp"
                    else destination.with_suffix(".xmp")
                )
                sidecar.write_text(xmp_text(when, offset, where, region), encoding="utf-8")
    total = sum(p.stat().st_size for p in TARGET.rglob("*") if p.is_file())
    print(f"wrote {sum(1 for _ in TARGET.rglob('*.jpg'))} photos, {total / 1e6:.1f} MB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
