"""Photo metadata: EXIF capture time, GPS, camera and orientation; XMP sidecars.

Pure readers: each takes a PIL image or XMP text and returns plain values. Naive capture times
(EXIF without an OffsetTime tag) are read as UTC: order and gaps between photos, which is what
moments need, stay right, and the wall-clock time shown to the user is the one the camera wrote.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from PIL import Image

EXIF_IFD = 0x8769
GPS_IFD = 0x8825
TAG_ORIENTATION = 0x0112
TAG_MAKE, TAG_MODEL = 0x010F, 0x0110
TAG_DATETIME = 0x0132
TAG_DATETIME_ORIGINAL, TAG_DATETIME_DIGITIZED = 0x9003, 0x9004
TAG_OFFSET_TIME_ORIGINAL, TAG_OFFSET_TIME = 0x9011, 0x9010


@dataclass(frozen=True)
class FaceRegion:
    """An MWG face region: a person's name and a box in normalised [0, 1] image coordinates."""

    name: str
    x: float
    y: float
    w: float
    h: float


@dataclass
class PhotoMetadata:
    taken: datetime | None = None  # aware datetime
    time_source: str | None = None  # exif | xmp
    latitude: float | None = None
    longitude: float | None = None
    camera: str | None = None
    orientation: int | None = None
    regions: list[FaceRegion] = field(default_factory=list)


def parse_exif_datetime(text: str, offset: str | None = None) -> datetime | None:
    text = text.strip().rstrip("\x00")
    for fmt in ("%Y:%m:%d %H:%M:%S", "%Y-%m-%d %H:%M:%S", "%Y:%m:%d %H:%M"):
        try:
            naive = datetime.strptime(text[:19], fmt)
            break
        except ValueError:
            continue
    else:
        return None
    tz = _parse_offset(offset) if offset else None
    return naive.replace(tzinfo=tz or UTC)


def _parse_offset(text: str) -> timezone | None:
    match = re.fullmatch(r"\s*([+-])(\d{2}):?(\d{2})\s*", text.rstrip("\x00"))
    if not match:
        return None
    sign = 1 if match.group(1) == "+" else -1
    return timezone(sign * timedelta(hours=int(match.group(2)), minutes=int(match.group(3))))


def _rational(value: object) -> float:
    if isinstance(value, tuple) and len(value) == 2:
        return float(value[0]) / float(value[1]) if value[1] else 0.0
    return float(value)  # type: ignore[arg-type]


def _dms_to_degrees(dms: object, ref: object) -> float | None:
    try:
        degrees, minutes, seconds = (_rational(v) for v in dms)  # type: ignore[attr-defined]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    value = degrees + minutes / 60.0 + seconds / 3600.0
    if isinstance(ref, bytes):
        ref = ref.decode("ascii", "ignore")
    if str(ref).strip().upper()[:1] in ("S", "W"):
        value = -value
    return value


def read_exif(image: Image.Image) -> PhotoMetadata:
    """Capture time, GPS, camera and orientation from a PIL image's EXIF (JPEG, HEIC, TIFF, WebP, PNG)."""
    meta = PhotoMetadata()
    try:
        exif = image.getexif()
    except Exception:  # noqa: BLE001 - a broken EXIF block must not lose the photo
        return meta
    if not exif:
        return meta
    orientation = exif.get(TAG_ORIENTATION)
    if isinstance(orientation, int) and 1 <= orientation <= 8:
        meta.orientation = orientation
    make, model = str(exif.get(TAG_MAKE, "")).strip("\x00 "), str(exif.get(TAG_MODEL, "")).strip("\x00 ")
    if model:
        meta.camera = model if make and model.startswith(make.split()[0]) else f"{make} {model}".strip()
    try:
        exif_ifd = exif.get_ifd(EXIF_IFD)
    except Exception:  # noqa: BLE001
        exif_ifd = {}
    for tag, offset_tag in (
        (TAG_DATETIME_ORIGINAL, TAG_OFFSET_TIME_ORIGINAL),
        (TAG_DATETIME_DIGITIZED, TAG_OFFSET_TIME_ORIGINAL),
    ):
        raw = exif_ifd.get(tag)
        if isinstance(raw, str):
            offset = exif_ifd.get(offset_tag) or exif_ifd.get(TAG_OFFSET_TIME)
            taken = parse_exif_datetime(raw, offset if isinstance(offset, str) else None)
            if taken:
                meta.taken, meta.time_source = taken, "exif"
                break
    if meta.taken is None and isinstance(exif.get(TAG_DATETIME), str):
        taken = parse_exif_datetime(exif[TAG_DATETIME])
        if taken:
            meta.taken, meta.time_source = taken, "exif"
    try:
        gps = exif.get_ifd(GPS_IFD)
    except Exception:  # noqa: BLE001
        gps = {}
    if gps and 2 in gps and 4 in gps:
        lat, lon = _dms_to_degrees(gps[2], gps.get(1, "N")), _dms_to_degrees(gps[4], gps.get(3, "E"))
        # 0,0 is what broken phones write for "no fix".
        if lat is not None and lon is not None and -90 <= lat <= 90 and -180 <= lon <= 180 and (lat, lon) != (0, 0):
            meta.latitude, meta.longitude = lat, lon
    return meta


# --- XMP sidecars ------------------------------------------------------------------------------
NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "exif": "http://ns.adobe.com/exif/1.0/",
    "xmp": "http://ns.adobe.com/xap/1.0/",
    "photoshop": "http://ns.adobe.com/photoshop/1.0/",
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
}


def sidecar_paths(photo: Path) -> list[Path]:
    """`photo.jpg.xmp` (darktable, digiKam) and `photo.xmp` (Lightroom), in that order."""
    return [photo.with_name(photo.name + ".xmp"), photo.with_suffix(".xmp")]


def parse_xmp_datetime(text: str) -> datetime | None:
    text = text.strip()
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return parse_exif_datetime(text)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def parse_xmp_coordinate(text: str) -> float | None:
    """XMP GPS coordinates: "51,30.123N" / "51,30,7N" (DMS with a ref letter) or a signed decimal."""
    text = text.strip()
    match = re.fullmatch(r"(\d+(?:\.\d+)?),(\d+(?:\.\d+)?)(?:,(\d+(?:\.\d+)?))?([NSEW])", text)
    if match:
        value = float(match.group(1)) + float(match.group(2)) / 60 + float(match.group(3) or 0) / 3600
        return -value if match.group(4) in "SW" else value
    try:
        return float(text)
    except ValueError:
        return None


def _value(node: ElementTree.Element, qualified: str) -> str | None:
    """A property written either as an attribute or as a child element."""
    prefix, local = qualified.split(":")
    key = f"{{{NS[prefix]}}}{local}"
    if key in node.attrib:
        return node.attrib[key]
    child = node.find(f"{prefix}:{local}", NS)
    if child is not None:
        if child.text and child.text.strip():
            return child.text.strip()
        item = child.find(".//rdf:li", NS)
        if item is not None and item.text:
            return item.text.strip()
    return None


def read_xmp(text: str) -> PhotoMetadata:
    """Capture date, GPS and MWG face regions from XMP. Raises ValueError on malformed XML."""
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as error:
        raise ValueError(f"malformed XMP ({error})") from error
    meta = PhotoMetadata()
    for description in root.iter(f"{{{NS['rdf']}}}Description"):
        if meta.taken is None:
            for name in ("exif:DateTimeOriginal", "photoshop:DateCreated", "xmp:CreateDate"):
                raw = _value(description, name)
                taken = parse_xmp_datetime(raw) if raw else None
                if taken:
                    meta.taken, meta.time_source = taken, "xmp"
                    break
        lat_text, lon_text = _value(description, "exif:GPSLatitude"), _value(description, "exif:GPSLongitude")
        if lat_text and lon_text and meta.latitude is None:
            lat, lon = parse_xmp_coordinate(lat_text), parse_xmp_coordinate(lon_text)
            if lat is not None and lon is not None:
                meta.latitude, meta.longitude = lat, lon
    for item in root.iter(f"{{{NS['rdf']}}}li"):
        region_name = _value(item, "mwg-rs:Name")
        kind = _value(item, "mwg-rs:Type") or "Face"
        area = item.find("mwg-rs:Area", NS)
        if not region_name or kind != "Face" or area is None:
            continue
        try:
            cx, cy = float(_value(area, "stArea:x") or "nan"), float(_value(area, "stArea:y") or "nan")
            w, h = float(_value(area, "stArea:w") or "nan"), float(_value(area, "stArea:h") or "nan")
        except ValueError:
            continue
        if all(0.0 <= v <= 1.0 for v in (cx, cy, w, h)):
            # MWG areas are centre-based; we keep top-left boxes everywhere.
            meta.regions.append(FaceRegion(name=region_name.strip(), x=cx - w / 2, y=cy - h / 2, w=w, h=h))
    return meta


def merge(exif: PhotoMetadata, xmp: PhotoMetadata | None) -> PhotoMetadata:
    """The sidecar wins: it holds what the user (or their editor) corrected."""
    if xmp is None:
        return exif
    return PhotoMetadata(
        taken=xmp.taken or exif.taken,
        time_source=xmp.time_source if xmp.taken else exif.time_source,
        latitude=xmp.latitude if xmp.latitude is not None else exif.latitude,
        longitude=xmp.longitude if xmp.latitude is not None else exif.longitude,
        camera=exif.camera,
        orientation=exif.orientation,
        regions=xmp.regions or exif.regions,
    )
