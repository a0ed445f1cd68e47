"""Peak memory of one index worker on hostile or huge inputs.

    .venv/bin/python -m benchmarks.bench_input_memory

Makes (in a temporary folder) a 120-megapixel JPEG (12,000 x 10,000) and a PNG with a 512 MB text
chunk, then for each runs, in a fresh process, exactly what an index worker does with a file
(`memories.ingest._init_worker` and `_process`: read, decode, recognise) and prints its peak
resident memory and what it made of the file. The baseline is the same process with the models
loaded and nothing read.
"""

from __future__ import annotations

import struct
import subprocess
import sys
import tempfile
import zlib
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

# VmHWM, not getrusage: Linux carries ru_maxrss across exec, so a child would report the memory
# of the parent that made the test files.
WORKER = """
import sys
from pathlib import Path
from memories import ingest
ingest._init_worker(True, {"crops": False, "models_dir": None})
ingest._recogniser.analyzer.detector  # models loaded, as in a pool worker
if len(sys.argv) > 1:
    result = ingest._process(Path(sys.argv[1]))
    outcome = result.error or f"{len(result.observations)} observations"
else:
    outcome = "models only"
hwm = next(l for l in open("/proc/self/status") if l.startswith("VmHWM")).split()[1]
print(int(hwm) / 1024, outcome)
"""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def make_png_with_huge_text(path: Path, text_bytes: int) -> None:
    with path.open("wb") as handle:
        handle.write(b"\x89PNG\r\n\x1a\n")
        handle.write(_chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 48, 8, 2, 0, 0, 0)))
        handle.write(struct.pack(">I", text_bytes) + b"tEXt")
        crc = zlib.crc32(b"tEXt")
        block = b"Comment\x00" + b"x" * (1 << 20)
        written = 0
        while written < text_bytes:
            part = block[: min(len(block), text_bytes - written)]
            handle.write(part)
            crc = zlib.crc32(part, crc)
            written += len(part)
        handle.write(struct.pack(">I", crc))
        raw = b"".join(b"\x00" + b"\x80" * (64 * 3) for _ in range(48))
        handle.write(_chunk(b"IDAT", zlib.compress(raw)))
        handle.write(_chunk(b"IEND", b""))


def make_large_jpeg(path: Path, width: int = 12_000, height: int = 10_000) -> None:
    import numpy as np
    from PIL import Image

    row = np.linspace(40, 220, width, dtype=np.float32)
    column = np.linspace(0.6, 1.0, height, dtype=np.float32)[:, None]
    grey = (row[None, :] * column).astype(np.uint8)
    Image.fromarray(np.dstack([grey, grey[:, ::-1], grey])).save(path, quality=85)


def peak(path: Path | None) -> str:
    args = [sys.executable, "-c", WORKER] + ([str(path)] if path else [])
    out = subprocess.run(args, capture_output=True, text=True, cwd=REPO, check=True).stdout.strip()
    megabytes, outcome = out.split(" ", 1)
    return f"peak {float(megabytes):.0f} MB ({outcome})"


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        jpeg, png = Path(folder) / "120mp.jpg", Path(folder) / "huge-text.png"
        make_large_jpeg(jpeg)
        make_png_with_huge_text(png, 512 << 20)
        print(f"worker with models loaded, no photo: {peak(None)}")
        print(f"120-megapixel JPEG ({jpeg.stat().st_size >> 20} MB): {peak(jpeg)}")
        print(f"PNG with a 512 MB text chunk: {peak(png)}")


if __name__ == "__main__":
    main()
