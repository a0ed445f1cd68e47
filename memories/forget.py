"""Forgetting photos on purpose: `memories forget PATH...` and `--missing`.

A photo is never dropped because its file cannot be seen (a drive may be unplugged): only when
the user names it, or asks for the files that are gone from a folder that is itself there.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from memories.store import Library


class ForgetError(ValueError):
    pass


def _under(path: str, root: Path) -> bool:
    return path == str(root) or path.startswith(str(root).rstrip(os.sep) + os.sep)


def forget(library: Library, targets: Sequence[Path], missing: bool = False) -> int:
    """Forget the photos at or under `targets` (with `missing`, only those whose file is gone);
    returns how many photos were forgotten. Their faces go with them; names and people stay."""
    from memories.clustering import refresh_people

    roots = [Path(t).absolute() for t in targets]
    if missing:
        absent = [str(r) for r in roots if not r.is_dir()]
        if absent:
            raise ForgetError(
                f"{', '.join(absent)}: no such folder (is the drive connected?); nothing was forgotten"
            )
    rows = library.db.execute("SELECT path, asset_id FROM asset_paths").fetchall()
    chosen = [
        r for r in rows
        if any(_under(r["path"], root) for root in roots) and (not missing or not os.path.exists(r["path"]))
    ]
    with library.transaction() as db:
        for r in chosen:
            db.execute("DELETE FROM asset_paths WHERE path = ?", (r["path"],))
        gone = {int(r["asset_id"]) for r in chosen} - {
            int(a[0]) for a in db.execute("SELECT DISTINCT asset_id FROM asset_paths")
        }
        db.executemany("DELETE FROM assets WHERE id = ?", [(a,) for a in sorted(gone)])
        refresh_people(db)
    if gone:
        library.mark_graph_stale()
    return len(gone)
