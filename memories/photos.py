"""Reading one photo file: bytes -> content hash, oriented RGB pixels and metadata.

Every failure becomes a `PhotoError` with a short reason a user can act on.
"""

from __future__ import annotations

import hashlib
import os
import stat
import struct
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pillow_heif
from PIL import Image, ImageOps, UnidentifiedImageError

from memories import metadata, settings

pillow_heif.register_heif_opener()  # HEIC/HEIF is a plug-in: registered once, at import

# We enforce our own, lower limit before decoding; Pillow's guard stays as a second fence.
Image.MAX_IMAGE_PIXELS = settings.MAX_IMAGE_PIXELS * 2


class PhotoError(Exception):
    """A file that cannot be indexed; str() is the reason shown to the user."""


@dataclass(frozen=True)
class VideoInfo:
    """What a video file is, from its container and stream headers (no frame decoded; read by
    memories.videos)."""

    duration_s: float
    width: int  # as displayed: after the rotation tag
    height: int
    frame_rate: float
    codec: str
    rotation: int  # degrees counter-clockwise the player turns the stored frames: 0, 90, 180, 270
    has_audio: bool
    content_identifier: str | None = None  # Apple's Live Photo pairing key


@dataclass(frozen=True)
class MotionFile:
    """A Live Photo's motion file, read alongside its still."""

    path: Path
    content_hash: str
    file_size: int
    file_mtime: float
    info: VideoInfo
    place: tuple[float, float] | None = None  # (latitude, longitude) from its QuickTime keys


@dataclass
class Photo:
    path: Path
    content_hash: str
    file_size: int
    file_mtime: float
    format: str
    width: int
    height: int
    meta: metadata.PhotoMetadata
    rgb: np.ndarray | None  # (H, W, 3) uint8, oriented; None when not asked for
    warning: str | None = None  # indexed, but something the user should know (a bad sidecar)
    # rgb's pixels per photo pixel: below 1 when a large JPEG was decoded at reduced scale
    # (settings.DECODE_LONGEST_SIDE); width and height are always the photo's own.
    pixel_scale: float = 1.0
    # A video (memories.videos): its stream facts. None for a photo.
    video: VideoInfo | None = None
    # A Live Photo's still: its motion file, read with it (memories.live_photos).
    motion: MotionFile | None = None

    @property
    def media_kind(self) -> str:
        """photo | video | live (a still with its motion file)."""
        if self.video is not None:
            return "video"
        return "live" if self.motion is not None else "photo"


def display_path(path: Path | str) -> str:
    """A path printable on any terminal, also when its bytes are not UTF-8."""
    return os.fsencode(path).decode("utf-8", "backslashreplace")


def hash_file(path: Path, chunk: int = 1 << 20) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
            size += len(block)
    return digest.hexdigest(), size


def checked_and_hashed(path: Path) -> tuple[os.stat_result, str, int]:
    """(stat, content hash, size) of a regular, non-empty file with a UTF-8 name (a photo or a
    video); PhotoError with the reason otherwise."""
    try:
        info = os.stat(path)
    except OSError as error:
        raise PhotoError(_os_reason(error)) from error
    if not stat.S_ISREG(info.st_mode):
        raise PhotoError("not a regular file")
    if info.st_size == 0:
        raise PhotoError("empty file (0 bytes)")
    try:
        os.fsencode(path).decode("utf-8")
    except UnicodeDecodeError as error:
        raise PhotoError("file name is not valid UTF-8; rename it to index it") from error
    try:
        content_hash, size = hash_file(path)
    except OSError as error:
        raise PhotoError(_os_reason(error)) from error
    return info, content_hash, size


def read_photo(path: Path, *, decode: bool = True) -> Photo:
    """Hash, validate and decode one photo; raises PhotoError with the reason."""
    info, content_hash, size = checked_and_hashed(path)
    oversized = oversized_png_chunk(path)
    if oversized is not None:
        raise PhotoError(oversized)
    try:
        with warnings.catch_warnings(record=True) as caught, Image.open(path) as image:
            warnings.simplefilter("always")
            width, height = image.size
            if width * height > settings.MAX_IMAGE_PIXELS:
                raise PhotoError(
                    f"image too large ({width}x{height} px, limit {settings.MAX_IMAGE_PIXELS // 1_000_000} Mpx);"
                    " refusing a possible decompression bomb"
                )
            image_format = image.format or path.suffix.lstrip(".").upper()
            exif_meta = metadata.read_exif(image)
            if decode:
                reduce_decode(image, settings.DECODE_LONGEST_SIDE)
            image.load()  # decode: a truncated file fails here, not later in recognition
            pixel_scale = image.size[0] / width
            oriented = ImageOps.exif_transpose(image)
            rgb = np.asarray(oriented.convert("RGB")) if decode else None  # a GIF: its first frame
            width, height = (width, height) if oriented.size == image.size else (height, width)
        # Pillow's own warnings ("Corrupt EXIF data", ...) name no file: they go with the photo.
        decoder_warning = "; ".join(dict.fromkeys(str(w.message) for w in caught)) or None
    except PhotoError:
        raise
    except UnidentifiedImageError as error:
        raise PhotoError("not an image (unrecognised format)") from error
    except Image.DecompressionBombError as error:
        raise PhotoError("image too large; refusing a possible decompression bomb") from error
    except (OSError, SyntaxError, ValueError, struct.error, zlib.error, EOFError) as error:
        raise PhotoError(f"corrupt or truncated image data ({error})") from error
    sidecar_meta, warning = read_sidecar(path)
    warning = "; ".join(w for w in (decoder_warning, warning) if w) or None
    return Photo(
        path=path,
        content_hash=content_hash,
        file_size=size,
        file_mtime=info.st_mtime,
        format=image_format,
        width=width,
        height=height,
        meta=metadata.merge(exif_meta, sidecar_meta),
        rgb=rgb,
        warning=warning,
        pixel_scale=pixel_scale,
    )


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
PNG_TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")


def oversized_png_chunk(path: Path) -> str | None:
    """Why a PNG must not be decoded: a text chunk over settings.MAX_PNG_TEXT_CHUNK_BYTES. Read
    from the chunk headers alone (seeking past the data), because Pillow reads a whole chunk
    into memory before it checks the size: a 512 MB text chunk cost a worker 1.9 GB."""
    try:
        with open(path, "rb") as handle:
            if handle.read(8) != PNG_SIGNATURE:
                return None
            while header := handle.read(8):
                if len(header) < 8:
                    return None
                length, kind = struct.unpack(">I", header[:4])[0], header[4:]
                if kind in PNG_TEXT_CHUNKS and length > settings.MAX_PNG_TEXT_CHUNK_BYTES:
                    return f"PNG text chunk of {length / 2**20:.0f} MB (limit {settings.MAX_PNG_TEXT_CHUNK_BYTES // 2**20} MB)"
                if kind in (b"IDAT", b"IEND"):
                    return None
                handle.seek(length + 4, os.SEEK_CUR)  # the data and its CRC
    except OSError:
        return None  # the decoder reports what is wrong with the file
    return None


def reduce_decode(image: Image.Image, longest_side: int) -> None:
    """Ask a JPEG to decode at the smallest DCT scale (1/2, 1/4, 1/8) that keeps its longest side at
    least `longest_side`: a 12 MP photo decodes at 2016 x 1512 in a third of the time, and
    recognition has what it needs (see settings.DECODE_LONGEST_SIDE). Other formats are unchanged."""
    if image.format != "JPEG" or max(image.size) <= longest_side:
        return
    factor = longest_side / max(image.size)
    image.draft("RGB", (max(1, int(image.size[0] * factor)), max(1, int(image.size[1] * factor))))


def read_sidecar(path: Path) -> tuple[metadata.PhotoMetadata | None, str | None]:
    """The first sidecar found, or a warning: a bad sidecar must not cost the photo."""
    for sidecar in metadata.sidecar_paths(path):
        if sidecar.is_file():
            try:
                return metadata.read_xmp(sidecar.read_text(encoding="utf-8", errors="replace")), None
            except (ValueError, OSError) as error:
                return None, f"sidecar {sidecar.name} ignored: {error}"
    return None, None


def _os_reason(error: OSError) -> str:
    if error.errno is not None and error.strerror:
        return f"unreadable ({error.strerror})"
    return f"unreadable ({error})"
