"""`memories index --cluster` against a plain local `memories index`, on the phone-photo set.

    python -m benchmarks.bench_index_cluster [--photos 40] [--workers 2] [--cluster-workers 1 2]
                                             [--rounds 1] [--no-storage] [--keep] [--json]

The photos are bench_index_photos' set (4032 x 3024, JPEG quality 92, 1-4 lfw_min10 people each;
made once and cached under ~/.cache/memories/bench-phone-photos). Each run indexes the same first
--photos of them into a fresh library with the command a user types, in a subprocess, wall clock
timed (interpreter start and model loading included), and its summary line is checked (all new,
none skipped, the same number of faces in every run):

- plain:   `python -m memories index DIR -L LIB --workers W` (the local process pool);
- cluster: `python -m memories index DIR -L LIB --cluster tcp://...` against a
  `distributed.LocalCluster(n_workers=K, threads_per_worker=1, processes=True)` for each K of
  --cluster-workers, each in a process of its own. The clusters are started first, their start
  timed apart and not counted (a user's cluster is already running). Each cluster's first run is
  a client's first contact (the models sent to and loaded by the workers); later runs find the
  workers warm; first run minus the best warm run is the first-contact cost.

Then --rounds rounds of (plain, each cluster warm), interleaved so that a machine shared with other
work slows every configuration alike; the best run of each configuration is kept.

It prints photos/s and CPU seconds a photo of each run (the command, its pool and the cluster's
workers: on a shared machine the CPU figure is the steadier one); the overhead of the cluster with
as many workers as the plain pool (warm and first contact) against the plain run, and whether the
goal (<= 10 %) is met; the peak resident memory of the command (plain: with its pool) and of the
cluster's workers; the load average before each run (a load above the machine's cores makes every
wall-clock figure slower); and, from the plain run's library, its bytes on disk per photo: the
SQLite database (with its WAL, less an empty library's) and the thumbnails the web app makes on
first view (grid 480 px, view 2048 px, faces 160 px; memories.web.thumbs).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

from benchmarks.bench_index_photos import REPO, SIZE, _tree_rss, make_photos

PHOTO_CACHE = Path.home() / ".cache" / "memories" / "bench-phone-photos"
GOAL_OVERHEAD = 0.10
SUMMARY = re.compile(r"indexed (\d+) new\b.*?(\d+) skipped; (\d+) faces found")


def photo_folder(count: int) -> tuple[Path, int]:
    """A folder holding exactly the first `count` photos of the set (symlinks into the cache)."""
    truth = make_photos(PHOTO_CACHE, count)
    folder = Path(tempfile.mkdtemp(prefix="bench-cluster-photos-"))
    for name in sorted(truth):
        (folder / name).symlink_to(PHOTO_CACHE / name)
    return folder, len(truth)


class PeakRss:
    """The largest sum of resident memory of some process trees, sampled every 50 ms."""

    def __init__(self, pids: list[int]) -> None:
        self.pids, self.peak = pids, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, sum(_tree_rss(p) for p in self.pids))
            time.sleep(0.05)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a running process has used (from /proc)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_index(folder: Path, options: list[str], worker_pids: list[int] | None = None) -> dict[str, Any]:
    """`python -m memories index folder -L <fresh> *options`, timed; its summary line parsed.

    CPU seconds: the command's and its process pool's (reaped children), plus what the cluster's
    worker processes used meanwhile; unlike wall clock, not inflated by other work on the machine.
    Not counted: the scheduler (a process of its own, see local_cluster)."""
    library = Path(tempfile.mkdtemp(prefix="bench-cluster-lib-"))
    command = [sys.executable, "-m", "memories", "index", str(folder), "-L", str(library), *options]
    load = os.getloadavg()[0]
    cpu_before = _children_cpu()
    workers_cpu_before = sum(_cpu_seconds(p) for p in worker_pids or [])
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    command_peak = 0
    with PeakRss(worker_pids or []) as workers:
        while process.poll() is None:
            command_peak = max(command_peak, _tree_rss(process.pid))
            time.sleep(0.05)
    seconds = time.perf_counter() - start
    out, err = process.communicate()
    command_cpu = _children_cpu() - cpu_before
    workers_cpu = sum(_cpu_seconds(p) for p in worker_pids or []) - workers_cpu_before
    found = SUMMARY.search(out)
    if process.returncode != 0 or found is None:
        shutil.rmtree(library, ignore_errors=True)
        raise SystemExit(
            f"{' '.join(command)} failed (exit {process.returncode}):\n{out[-2000:]}\n{err[-2000:]}"
        )
    new, skipped, faces = (int(g) for g in found.groups())
    return {
        "options": " ".join(options),
        "seconds": round(seconds, 2),
        "new": new,
        "skipped": skipped,
        "faces": faces,
        "load_before": round(load, 2),
        "command_cpu_seconds": round(command_cpu, 2),
        "workers_cpu_seconds": round(workers_cpu, 2) if worker_pids else None,
        "cpu_seconds": round(command_cpu + workers_cpu, 2),
        "command_peak_gb": round(command_peak / 2**30, 3),
        "workers_peak_gb": round(workers.peak / 2**30, 3) if worker_pids else None,
        "summary": found.group(0),
        "library": str(library),
    }


def _serve_cluster(workers: int, started: Any, stop: Any) -> None:
    """In its own process: a LocalCluster until `stop` is set; (address, seconds, pids) on `started`."""
    import dask
    from distributed import Client, LocalCluster

    # As the README says to start workers: without Dask's sampling profiler (a stack sample every
    # 10 ms costs the workers ~6 % CPU here: warm overhead +17.9 % with it, +13.0 % without).
    dask.config.set({"distributed.worker.profile.enabled": False})
    start = time.perf_counter()
    cluster = LocalCluster(
        n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
    )
    client = Client(cluster)
    client.wait_for_workers(workers)
    seconds = time.perf_counter() - start
    started.put((cluster.scheduler_address, seconds, sorted(client.run(os.getpid).values())))
    stop.wait()
    client.close()
    cluster.close()


@contextmanager
def local_cluster(workers: int) -> Iterator[tuple[str, float, list[int]]]:
    """A LocalCluster of `workers` one-thread worker processes: (address, start seconds, pids).

    It runs in a process of its own, as a user's scheduler would: in this one its event loop would
    share the interpreter with the memory sampling."""
    context = multiprocessing.get_context("spawn")
    started, stop = context.Queue(), context.Event()
    server = context.Process(target=_serve_cluster, args=(workers, started, stop))
    server.start()
    try:
        address, seconds, pids = started.get(timeout=300)
        yield address, seconds, pids
    finally:
        stop.set()
        server.join(60)
        if server.is_alive():
            server.terminate()
            server.join()


def model_bytes() -> int | None:
    """Bytes of the models a client sends to the workers on first contact (None: not knowable here)."""
    try:
        from memories.cluster_workers import converted_models
    except ImportError:
        return None
    return sum(len(data) for data in converted_models().values())


def storage_per_photo(library_path: Path, photos: int) -> dict[str, Any]:
    """Bytes per photo of a library: the database as indexed, then with the web app's thumbnails."""
    from memories.store import Library
    from memories.web import settings as web_settings
    from memories.web import thumbs

    def size(path: Path) -> int:
        if path.is_file():
            return path.stat().st_size
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())

    def database_bytes(library: Library) -> int:
        library.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return sum(size(p) for p in library.root.glob(library.database_path.name + "*"))

    empty_path = Path(tempfile.mkdtemp(prefix="bench-cluster-empty-"))
    empty = Library(empty_path)
    schema_only = database_bytes(empty)
    empty.db.close()
    shutil.rmtree(empty_path, ignore_errors=True)
    library = Library(library_path, create=False)
    try:
        database = database_bytes(library)
        other = sum(size(p) for p in library_path.iterdir()) - database
        asset_ids = [row[0] for row in library.db.execute("SELECT id FROM assets")]
        face_ids = [row[0] for row in library.db.execute("SELECT id FROM observations WHERE face_w IS NOT NULL")]
        for asset_id in asset_ids:
            thumbs.photo_copy(library, asset_id, web_settings.PHOTO_GRID_PX)
        grid = size(library.thumbs_dir / "photos")
        for asset_id in asset_ids:
            thumbs.photo_copy(library, asset_id, web_settings.PHOTO_VIEW_PX)
        view = size(library.thumbs_dir / "photos") - grid
        for face_id in face_ids:
            thumbs.face_thumbnail(library, face_id)
        faces = size(library.thumbs_dir / "faces")
    finally:
        library.db.close()
    return {
        "photos": photos,
        "faces": len(face_ids),
        "database_bytes_empty": schema_only,
        "database_bytes_per_photo": round((database - schema_only) / photos),
        "database_bytes_per_face": round((database - schema_only) / max(len(face_ids), 1)),
        "other_library_bytes_per_photo": round(other / photos),  # graph.json and the like
        "grid_thumb_bytes_per_photo": round(grid / photos),
        "view_copy_bytes_per_photo": round(view / photos),
        "face_thumb_bytes_per_photo": round(faces / photos),
    }


def per_s(run: dict[str, Any], photos: int) -> float:
    return round(photos / run["seconds"], 3)


def _say(args: argparse.Namespace, text: str) -> None:
    if not args.json:
        print(text, flush=True)


def _line(name: str, run: dict[str, Any], photos: int) -> str:
    workers = (
        f"; workers peak {run['workers_peak_gb']} GB, CPU {run['workers_cpu_seconds']} s"
        if run["workers_peak_gb"] is not None else ""
    )
    return (
        f"{name}: {run['seconds']} s = {per_s(run, photos)} photos/s; {run['cpu_seconds'] / photos:.2f} CPU s "
        f"a photo ({run['summary']}; load before {run['load_before']}; command peak {run['command_peak_gb']} GB, "
        f"CPU {run['command_cpu_seconds']} s{workers})"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--photos", type=int, default=40)
    parser.add_argument("--workers", type=int, default=2, help="the plain run's --workers")
    parser.add_argument("--cluster-workers", type=int, nargs="*", default=[1, 2], help="one LocalCluster per value")
    parser.add_argument("--rounds", type=int, default=1, help="rounds of (plain, each warm cluster); best of each kept")
    parser.add_argument("--no-storage", action="store_true", help="skip the bytes-per-photo measurement")
    parser.add_argument("--keep", action="store_true", help="keep the libraries (their paths are printed)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    folder, photos = photo_folder(args.photos)
    report: dict[str, Any] = {
        "photos": photos, "size": f"{SIZE[0]}x{SIZE[1]}", "cores": os.cpu_count(), "rounds": args.rounds,
        "model_bytes_sent": model_bytes() if args.cluster_workers else None,
    }
    libraries: list[str] = []

    def index(options: list[str], pids: list[int] | None = None) -> dict[str, Any]:
        run = run_index(folder, options, pids)
        libraries.append(run["library"])
        return {**run, "photos_per_s": per_s(run, photos)}

    try:
        with ExitStack() as stack:
            clusters: dict[int, dict[str, Any]] = {}
            for workers in args.cluster_workers:  # started before any run; idle until used
                address, started, pids = stack.enter_context(local_cluster(workers))
                clusters[workers] = {"workers": workers, "start_seconds": round(started, 2), "address": address,
                                     "pids": pids, "warm": []}
                _say(args, f"cluster {workers}: started in {started:.2f} s (not counted) at {address}")
            for workers, entry in clusters.items():
                entry["first"] = index(["--cluster", entry["address"]], entry["pids"])
                _say(args, _line(f"cluster {workers} first contact", entry["first"], photos))
            plain_runs = []
            for number in range(1, args.rounds + 1):
                plain_runs.append(index(["--workers", str(args.workers)]))
                _say(args, _line(f"round {number} plain --workers {args.workers}", plain_runs[-1], photos))
                for workers, entry in clusters.items():
                    entry["warm"].append(index(["--cluster", entry["address"]], entry["pids"]))
                    _say(args, _line(f"round {number} cluster {workers} warm", entry["warm"][-1], photos))

        def best(runs: list[dict[str, Any]]) -> dict[str, Any]:
            return min(runs, key=lambda r: r["seconds"])

        def cpu_per_photo(runs: list[dict[str, Any]]) -> float:
            return round(min(r["cpu_seconds"] for r in runs) / photos, 3)

        plain = best(plain_runs)
        report["plain"] = {"workers": args.workers, "best": plain, "runs": plain_runs,
                           "cpu_seconds_per_photo": cpu_per_photo(plain_runs)}
        report["cluster"] = []
        for workers, entry in clusters.items():
            warm = best(entry["warm"])
            report["cluster"].append({
                "workers": workers, "start_seconds": entry["start_seconds"], "first": entry["first"],
                "best_warm": warm, "warm": entry["warm"],
                "first_contact_seconds": round(entry["first"]["seconds"] - warm["seconds"], 2),
                "warm_photos_per_s_per_worker": round(warm["photos_per_s"] / workers, 3),
                "warm_cpu_seconds_per_photo": cpu_per_photo(entry["warm"]),
                "first_cpu_seconds_per_photo": cpu_per_photo([entry["first"]]),
            })
        every = plain_runs + [r for c in report["cluster"] for r in [c["first"], *c["warm"]]]
        report["checks"] = {
            "all_new": all(r["new"] == photos and r["skipped"] == 0 for r in every),
            "same_faces": len({r["faces"] for r in every}) == 1,
        }
        same = [c for c in report["cluster"] if c["workers"] == args.workers]
        if same:
            report["overhead_warm"] = round(same[0]["best_warm"]["seconds"] / plain["seconds"] - 1, 4)
            report["overhead_first_contact"] = round(same[0]["first"]["seconds"] / plain["seconds"] - 1, 4)
            report["goal_met_warm"] = report["overhead_warm"] <= GOAL_OVERHEAD
            report["goal_met_first_contact"] = report["overhead_first_contact"] <= GOAL_OVERHEAD
            report["cpu_overhead_warm"] = round(
                same[0]["warm_cpu_seconds_per_photo"] / report["plain"]["cpu_seconds_per_photo"] - 1, 4
            )
        if not args.no_storage:
            report["storage"] = storage_per_photo(Path(plain["library"]), photos)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if not args.keep:
            for library in libraries:
                shutil.rmtree(library, ignore_errors=True)

    if args.json:
        print(json.dumps(report, indent=1))
        return
    print(f"\n{photos} photos of {report['size']}, {report['cores']} cores, best of {args.rounds} round(s):")
    print(f"  plain --workers {args.workers}: {plain['photos_per_s']} photos/s "
          f"({plain['photos_per_s'] / args.workers:.3f} per worker); {report['plain']['cpu_seconds_per_photo']} CPU s a photo")
    for c in report["cluster"]:
        print(f"  cluster, {c['workers']} worker(s): warm {c['best_warm']['photos_per_s']} photos/s "
              f"({c['warm_photos_per_s_per_worker']} per worker), {c['warm_cpu_seconds_per_photo']} CPU s a photo; "
              f"first contact {c['first']['photos_per_s']} photos/s, {c['first_cpu_seconds_per_photo']} CPU s a photo; "
              f"start {c['start_seconds']} s; first-contact cost {c['first_contact_seconds']} s "
              f"(models sent: {(report['model_bytes_sent'] or 0) / 1e6:.1f} MB per worker)")
    print(f"checks: every run indexed all {photos} photos, none skipped: {report['checks']['all_new']}; "
          f"same faces in every run: {report['checks']['same_faces']}")
    if "overhead_warm" in report:
        verdict = {True: "met", False: "NOT met"}
        print(f"overhead of the {args.workers}-worker cluster against plain --workers {args.workers}: "
              f"{report['overhead_warm']:+.1%} warm (goal <= {GOAL_OVERHEAD:.0%}: {verdict[report['goal_met_warm']]}), "
              f"{report['overhead_first_contact']:+.1%} on first contact ({verdict[report['goal_met_first_contact']]}); "
              f"CPU seconds a photo (driver + workers, warm): {report['cpu_overhead_warm']:+.1%}")
    if "storage" in report:
        s = report["storage"]
        print(f"library bytes per photo: database {s['database_bytes_per_photo']} (beyond {s['database_bytes_empty']} "
              f"of an empty library; {s['database_bytes_per_face']} per face), other {s['other_library_bytes_per_photo']}; "
              f"thumbnails: grid {s['grid_thumb_bytes_per_photo']}, view {s['view_copy_bytes_per_photo']}, "
              f"faces {s['face_thumb_bytes_per_photo']} ({s['faces']} faces)")
    if args.keep:
        print("libraries kept:", *libraries)


if __name__ == "__main__":
    main()
