"""A synthetic library that looks like a real user's: 8 years of photos in moments, ~30 cities, people.

    .venv/bin/python -m benchmarks.synthetic_library ROOT [--photos N] [--people N] [--seed S]

`build_synthetic_library(root)` writes a real library folder (the store's own schema, through
`memories.store.Library`) and then builds its knowledge graph with the project's own code
(`memories.graph_store.rebuild_graph`). No photo files are written: paths point at
`ROOT/photos/IMG_000000.jpg`..., which the pages only link to.

What it holds (defaults: 100,000 photos, 2,000 people):
  * moments of 1-60 photos taken within hours of each other, separated by over 3 h (so the store's
    own moment rule, `memories.moments.split_moments`, would find the same moments), over 8 years;
  * GPS on ~70% of photos, around real cities: home (Lisbon) most of the time, nearby towns for
    day trips, and multi-day trips to ~30 cities abroad (the graph's offline reverse geocoding
    turns them into places, home and trips);
  * 4032x3024 or 3024x4032 photos, a unique content hash each, time_source 'exif', recognised;
  * ~1.3 detector faces per photo, ~10% of them nobody's; each moment has a cast of people and its
    photos show people from that cast, so people co-occur like friends and family do; photo counts
    per person are Zipf-like (a partner in thousands of photos, most people in a handful);
  * ~15% of people named (unique first names), the most-photographed first, as users do; a key
    face per person chosen like `memories.clustering.refresh_people`; a few confirmed faces per
    named person; a few hidden people and photos;
  * face embeddings: float32, 128-d, L2-normalised (a centre per person plus noise), the BLOB
    format `memories.clustering.load_faces` reads.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import shutil
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np

from memories.store import Library
from recognition.embeddings import unit_rows

START = datetime(2017, 1, 1, tzinfo=UTC)
YEARS = 8
EMBEDDING_DIM = 128
META_NAME = "synthetic.json"

# (city, latitude, longitude, UTC offset in hours; standard time, DST ignored)
HOME = ("Lisbon", 38.7223, -9.1393, 0)
NEARBY = [
    ("Cascais", 38.6979, -9.4215, 0),
    ("Sintra", 38.8029, -9.3817, 0),
    ("Setubal", 38.5244, -8.8882, 0),
    ("Almada", 38.6790, -9.1569, 0),
    ("Ericeira", 38.9631, -9.4156, 0),
]
ABROAD = [
    ("Porto", 41.1579, -8.6291, 0),
    ("Faro", 37.0194, -7.9322, 0),
    ("Funchal", 32.6669, -16.9241, 0),
    ("Madrid", 40.4168, -3.7038, 1),
    ("Barcelona", 41.3874, 2.1686, 1),
    ("Seville", 37.3891, -5.9845, 1),
    ("Paris", 48.8566, 2.3522, 1),
    ("Lyon", 45.7640, 4.8357, 1),
    ("London", 51.5072, -0.1276, 0),
    ("Edinburgh", 55.9533, -3.1883, 0),
    ("Dublin", 53.3498, -6.2603, 0),
    ("Amsterdam", 52.3676, 4.9041, 1),
    ("Brussels", 50.8503, 4.3517, 1),
    ("Berlin", 52.5200, 13.4050, 1),
    ("Munich", 48.1351, 11.5820, 1),
    ("Zurich", 47.3769, 8.5417, 1),
    ("Vienna", 48.2082, 16.3738, 1),
    ("Prague", 50.0755, 14.4378, 1),
    ("Budapest", 47.4979, 19.0402, 1),
    ("Copenhagen", 55.6761, 12.5683, 1),
    ("Stockholm", 59.3293, 18.0686, 1),
    ("Rome", 41.9028, 12.4964, 1),
    ("Florence", 43.7696, 11.2558, 1),
    ("Milan", 45.4642, 9.1900, 1),
    ("Venice", 45.4408, 12.3155, 1),
    ("Athens", 37.9838, 23.7275, 2),
    ("Marrakesh", 31.6295, -7.9811, 0),
    ("Reykjavik", 64.1466, -21.9426, 0),
    ("New York City", 40.7128, -74.0060, -5),
    ("Tokyo", 35.6762, 139.6503, 9),
]

# fmt: off
FIRST_NAMES = [
    "Ana", "Beatriz", "Carlos", "Daniela", "Eduardo", "Filipa", "Goncalo", "Helena", "Ines", "Joao",
    "Joana", "Luis", "Mariana", "Miguel", "Nuno", "Pedro", "Rita", "Sofia", "Tiago", "Vasco", "Andre",
    "Bruno", "Catarina", "Diogo", "Francisca", "Guilherme", "Ivo", "Leonor", "Madalena", "Rui", "Teresa",
    "Afonso", "Alice", "Bernardo", "Clara", "Duarte", "Ema", "Francisco", "Gabriela", "Henrique", "Isabel",
    "Jorge", "Laura", "Manuel", "Marta", "Matilde", "Nelson", "Olga", "Paulo", "Raquel", "Ricardo",
    "Rodrigo", "Salome", "Sara", "Simao", "Tomas", "Vera", "Xavier", "Zita", "Alexandre", "Alberto",
    "Amelia", "Antonio", "Armando", "Artur", "Barbara", "Benedita", "Camila", "Carolina", "Cecilia",
    "Cristina", "Dinis", "Elisa", "Emilia", "Fernando", "Filomena", "Gil", "Graca", "Hugo", "Irene",
    "Jaime", "Jose", "Julia", "Leandro", "Lidia", "Lourenco", "Lucia", "Margarida", "Mateus", "Mauro",
    "Natalia", "Noemia", "Octavio", "Patricia", "Pilar", "Renato", "Rosa", "Samuel", "Sebastiao", "Silvia",
    "Sonia", "Valter", "Vitoria", "Yara", "Adam", "Alex", "Amy", "Anna", "Ben", "Charlotte", "Chloe",
    "Daniel", "David", "Eleanor", "Emily", "Emma", "Ethan", "Grace", "Hannah", "Harry", "Isaac", "Jack",
    "Jacob", "James", "Jessica", "Kate", "Leo", "Liam", "Lily", "Lucy", "Mia", "Noah", "Oliver", "Olivia",
    "Oscar", "Poppy", "Rachel", "Robert", "Ruby", "Sam", "Sophie", "Thomas", "William", "Zoe", "Aaron",
    "Abigail", "Aidan", "Amber", "Arthur", "Bella", "Caleb", "Connor", "Dylan", "Elliot", "Evie", "Finn",
    "Freya", "Gemma", "George", "Holly", "Imogen", "Isla", "Jasmine", "Joel", "Josh", "Kieran", "Lauren",
    "Lewis", "Logan", "Luke", "Maisie", "Mason", "Megan", "Nathan", "Niamh", "Owen", "Phoebe", "Reuben",
    "Rory", "Rosie", "Ryan", "Scarlett", "Seth", "Stella", "Theo", "Toby", "Tyler", "Violet", "Zach",
    "Amelie", "Antoine", "Camille", "Chloe", "Elodie", "Etienne", "Fabien", "Gaspard", "Hugo", "Juliette",
    "Leon", "Lucas", "Manon", "Margaux", "Mathis", "Maxime", "Nathalie", "Pauline", "Quentin", "Romain",
    "Solene", "Thibault", "Valentin", "Yanis", "Anke", "Birgit", "Dieter", "Felix", "Frieda", "Greta",
    "Hanna", "Jonas", "Jurgen", "Katrin", "Lena", "Lukas", "Maja", "Moritz", "Nils", "Paul", "Sabine",
    "Stefan", "Tobias", "Ulla", "Wolfgang", "Alessandro", "Alessia", "Chiara", "Davide", "Elena",
    "Federico", "Francesca", "Giacomo", "Giulia", "Lorenzo", "Luca", "Marco", "Martina", "Matteo", "Paola",
    "Riccardo", "Roberto", "Silvio", "Stefano", "Valentina", "Alba", "Alvaro", "Carmen", "Diego", "Esther",
    "Fernanda", "Gonzalo", "Ignacio", "Javier", "Lola", "Lucas", "Marisol", "Mercedes", "Nerea", "Pablo",
    "Paloma", "Ramon", "Rocio", "Sergio", "Yolanda", "Aiko", "Haruto", "Kenji", "Yuki", "Sakura", "Hiroshi",
    "Ingrid", "Astrid", "Bjorn", "Erik", "Freja", "Lars", "Linnea", "Magnus", "Sven", "Tove", "Anders",
    "Kasper", "Mette", "Rasmus", "Sigrid", "Aleksandra", "Dominik", "Jakub", "Katarzyna", "Marek", "Piotr",
    "Zofia", "Andrei", "Bogdan", "Ioana", "Mihai", "Radu", "Zoltan", "Eszter", "Agnes", "Petra", "Tomas",
    "Vaclav", "Dimitris", "Eleni", "Georgios", "Katerina", "Nikos", "Sotiris", "Yannis", "Amira", "Karim",
    "Leila", "Omar", "Samir", "Yasmin", "Zainab", "Aditya", "Ananya", "Arjun", "Diya", "Kavya", "Priya",
    "Rohan", "Vikram", "Chen", "Mei", "Wei", "Lin", "Jun", "Kwame", "Ama", "Kofi", "Nia", "Tariq", "Imani",
    "Malik", "Zuri", "Aroha", "Tane", "Kai", "Leilani", "Mateo", "Valeria", "Santiago", "Camilo", "Renata",
    "Thiago", "Vinicius", "Larissa", "Fabiola", "Gael", "Ximena", "Emiliano", "Regina",
]
# fmt: on

CAMERAS = ["Apple iPhone 8", "Apple iPhone 11", "Apple iPhone 13 Pro", "Google Pixel 7", "Sony ILCE-6400"]

Progress = Any


@dataclass
class SyntheticLibrary:
    root: Path
    top_person_id: int  # the most-photographed person
    top_person_name: str
    second_person_name: str  # named, shares photos with the top person
    place_name: str  # a town present in the library (the one with the most photos)
    stats: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["root"] = str(self.root)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SyntheticLibrary:
        return cls(
            root=Path(data["root"]),
            top_person_id=int(data["top_person_id"]),
            top_person_name=str(data["top_person_name"]),
            second_person_name=str(data["second_person_name"]),
            place_name=str(data["place_name"]),
            stats=dict(data.get("stats", {})),
        )


def _log(message: str) -> None:
    print(f"[synthetic {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def _unique_names(count: int, rng: np.random.Generator) -> list[str]:
    firsts = list(dict.fromkeys(FIRST_NAMES))
    names = list(rng.permutation(firsts))
    surnames = ["Silva", "Santos", "Costa", "Martins", "Smith", "Muller", "Rossi", "Garcia", "Dubois"]
    i = 0
    while len(names) < count:  # more named people than first names: add surnames
        names.append(f"{firsts[i % len(firsts)]} {surnames[(i // len(firsts)) % len(surnames)]}")
        i += 1
    return [str(n) for n in names[:count]]


# --- the timeline ------------------------------------------------------------------------------


def _moment_sizes(photos: int, rng: np.random.Generator) -> np.ndarray:
    """Photos per moment, 1..60, summing exactly to `photos`: many small moments, some big ones."""
    sizes: list[int] = []
    total = 0
    while total < photos:
        # mostly small moments (mean 5 photos), some big ones
        n = int(rng.geometric(0.2)) if rng.random() < 0.72 else int(rng.integers(10, 61))
        n = max(1, min(60, n, photos - total))
        sizes.append(n)
        total += n
    return np.array(sizes, dtype=np.int64)


def _trip_windows(span_s: float, rng: np.random.Generator) -> list[tuple[float, float, int]]:
    """Non-overlapping (start, end, city index in ABROAD) trips: ~5 a year, 2-12 days each."""
    count = int(YEARS * 5)
    windows: list[tuple[float, float, int]] = []
    attempts = 0
    city_weights = 1.0 / np.arange(1, len(ABROAD) + 1) ** 0.6
    city_weights /= city_weights.sum()
    order = rng.permutation(len(ABROAD))
    while len(windows) < count and attempts < count * 20:
        attempts += 1
        length = float(rng.integers(2, 13)) * 86400.0
        start = float(rng.uniform(0, span_s - length))
        if any(start < e + 3 * 86400 and s < start + length + 3 * 86400 for s, e, _ in windows):
            continue
        windows.append((start, start + length, int(order[rng.choice(len(ABROAD), p=city_weights)])))
    return sorted(windows)


@dataclass
class _Timeline:
    ts: np.ndarray  # per photo, UTC epoch seconds
    moment: np.ndarray  # per photo, moment index
    lat: np.ndarray  # per photo, NaN = no GPS
    lon: np.ndarray
    offset_h: np.ndarray  # per photo, local UTC offset
    sizes: np.ndarray  # per moment
    city: list[str]  # per moment: the city it was taken around
    at_home: np.ndarray  # per moment


def _timeline(photos: int, rng: np.random.Generator) -> _Timeline:
    sizes = _moment_sizes(photos, rng)
    moments = len(sizes)
    span = (START.replace(year=START.year + YEARS) - START).total_seconds()
    # Within a moment: gaps of seconds to minutes (never 3 h), a moment at most ~10 h long.
    inner_mean = rng.uniform(20.0, 360.0, size=moments)
    gaps_in = [
        np.minimum(rng.exponential(inner_mean[k], size=int(sizes[k]) - 1), 2.5 * 3600) for k in range(moments)
    ]
    durations = np.array([float(g.sum()) for g in gaps_in])
    scale = np.minimum(1.0, 10 * 3600 / np.maximum(durations, 1.0))
    gaps_in = [g * scale[k] for k, g in enumerate(gaps_in)]
    durations = durations * scale
    # Between moments: over 3 h. Moments start in the day (08:00-23:00 local): start times are
    # spread over the waking hours of the 8 years, then mapped onto the calendar.
    min_gap = 3.5 * 3600
    waking = 15 * 3600.0
    active_span = span / 86400.0 * waking
    gaps_between = min_gap + rng.exponential(
        max(60.0, (active_span - durations.sum()) / moments - min_gap), moments
    )
    gaps_between *= max(1.0, (active_span - durations.sum())) / gaps_between.sum()
    gaps_between = np.maximum(gaps_between, min_gap)
    active = np.cumsum(gaps_between) - gaps_between[0] + rng.uniform(0, waking)
    active[1:] += np.cumsum(durations)[:-1]
    starts = START.timestamp() + (active // waking) * 86400.0 + 8 * 3600 + active % waking
    trips = _trip_windows(span, rng)
    trip_starts = np.array([s for s, _, _ in trips]) + START.timestamp()
    trip_ends = np.array([e for _, e, _ in trips]) + START.timestamp()

    ts = np.empty(photos, dtype=np.float64)
    moment = np.empty(photos, dtype=np.int64)
    lat = np.full(photos, np.nan)
    lon = np.full(photos, np.nan)
    offset_h = np.zeros(photos, dtype=np.int64)
    cities: list[str] = []
    at_home = np.zeros(moments, dtype=bool)
    home_spot = (HOME[1] + 0.004, HOME[2] - 0.011)  # the user's street
    i = 0
    previous_end = -math.inf
    for k in range(moments):
        n = int(sizes[k])
        j = int(np.searchsorted(trip_starts, starts[k], side="right")) - 1
        if j >= 0 and starts[k] <= trip_ends[j]:
            name, clat, clon, off = ABROAD[trips[j][2]]
            centre = (clat + rng.normal(0, 0.006), clon + rng.normal(0, 0.006))
        elif rng.random() < 0.8:
            name, clat, clon, off = HOME
            at_home[k] = True
            if rng.random() < 0.5:
                centre = (home_spot[0] + rng.normal(0, 0.0005), home_spot[1] + rng.normal(0, 0.0005))
            else:
                centre = (clat + rng.normal(0, 0.015), clon + rng.normal(0, 0.015))
        else:
            name, clat, clon, off = NEARBY[int(rng.integers(len(NEARBY)))]
            centre = (clat + rng.normal(0, 0.006), clon + rng.normal(0, 0.006))
        # Local wall-clock start to UTC, whole seconds as EXIF has; never within 3 h of the last.
        t0 = float(round(max(starts[k] - off * 3600, previous_end + min_gap)))
        previous_end = t0 + float(np.round(np.cumsum(gaps_in[k]))[-1]) if n > 1 else t0
        cities.append(name)
        sl = slice(i, i + n)
        ts[sl] = t0 + np.round(np.concatenate([[0.0], np.cumsum(gaps_in[k])]))
        moment[sl] = k
        offset_h[sl] = off
        if rng.random() < 0.76:  # the camera had a fix this moment; most of its photos are tagged
            tagged = rng.random(n) < 0.92
            lat[sl] = np.where(tagged, centre[0] + rng.normal(0, 0.0015, n), np.nan)
            lon[sl] = np.where(tagged, centre[1] + rng.normal(0, 0.0015, n), np.nan)
        i += n
    return _Timeline(ts, moment, lat, lon, offset_h, sizes, cities, at_home)


def _iso(ts: float, offset_h: int) -> str:
    return datetime.fromtimestamp(round(ts), timezone(timedelta(hours=int(offset_h)))).isoformat()


# --- people and faces --------------------------------------------------------------------------


@dataclass
class _Faces:
    asset: np.ndarray  # photo index per face
    person: np.ndarray  # person rank per face, -1 = nobody's


def _faces(timeline: _Timeline, people: int, rng: np.random.Generator) -> _Faces:
    """Faces per photo (~1.3 on average, ~10% nobody's), people drawn from each moment's cast."""
    weights = 1.0 / np.arange(1, people + 1) ** 1.1
    weights /= weights.sum()
    counts = rng.choice(6, size=len(timeline.ts), p=[0.28, 0.34, 0.22, 0.10, 0.04, 0.02])
    face_asset: list[np.ndarray] = []
    face_person: list[np.ndarray] = []
    first = 0
    for _k, n in enumerate(timeline.sizes.tolist()):
        cast_size = min(people, 1 + int(rng.poisson(2.5)))
        cast = rng.choice(people, size=cast_size, replace=False, p=weights)
        if 0 in cast and 1 not in cast and people > 1 and rng.random() < 0.6:
            cast = np.append(cast, 1)  # the partner's closest companion comes along
        cast_p = weights[cast] / weights[cast].sum()
        for offset in range(n):
            photo = first + offset
            c = int(counts[photo])
            if not c:
                continue
            known = int((rng.random(c) >= 0.07).sum())
            known = min(known, len(cast))
            chosen = rng.choice(cast, size=known, replace=False, p=cast_p) if known else np.empty(0, np.int64)
            persons = np.concatenate([chosen, np.full(c - known, -1)])
            face_asset.append(np.full(c, photo))
            face_person.append(persons)
        first += n
    asset = np.concatenate(face_asset).astype(np.int64)
    person = np.concatenate(face_person).astype(np.int64)
    # Everyone the clustering made a person has faces: give the faceless ones 2-3 of the unknown
    # faces, each in a photo where they are not already.
    present = np.bincount(person[person >= 0], minlength=people)
    unknown = np.flatnonzero(person < 0)
    rng.shuffle(unknown)
    take = 0
    for rank in np.flatnonzero(present == 0).tolist():
        for _ in range(int(rng.integers(2, 4))):
            if take >= len(unknown):
                break
            person[unknown[take]] = rank
            take += 1
    return _Faces(asset, person)


# --- writing -----------------------------------------------------------------------------------


def build_synthetic_library(
    root: Path, photos: int = 100_000, people: int = 2_000, seed: int = 0
) -> SyntheticLibrary:
    """Write the library at `root` (which must not hold one yet) and build its graph."""
    from memories.graph_store import rebuild_graph

    root = Path(root).expanduser().resolve()
    if (root / "library.sqlite3").exists():
        raise FileExistsError(f"{root}: a library is already there")
    rng = np.random.default_rng(seed)
    started = time.perf_counter()
    _log(f"generating {photos:,} photos, {people:,} people (seed {seed}) at {root}")

    timeline = _timeline(photos, rng)
    faces = _faces(timeline, people, rng)
    face_count = len(faces.asset)
    _log(
        f"timeline: {len(timeline.sizes):,} moments; {face_count:,} faces ({face_count / photos:.2f} per photo)"
    )

    # People: ranks (0 = most photographed) get shuffled ids, as clustering order would give.
    ids = rng.permutation(people) + 1  # rank -> person id
    named_count = min(people, max(2, round(people * 0.15)))
    top_named = min(named_count, round(named_count * 0.8))
    rest = rng.choice(np.arange(top_named, people), size=named_count - top_named, replace=False)
    named_ranks = np.concatenate([np.arange(top_named), rest]).astype(np.int64)
    names = _unique_names(named_count, rng)
    name_of = {int(r): names[i] for i, r in enumerate(named_ranks)}
    hidden_ranks = (
        set(
            int(r)
            for r in rng.choice(np.arange(min(10, people), people), size=max(0, people // 100), replace=False)
            if int(r) not in name_of
        )
        if people > 10
        else set()
    )

    # Face attributes.
    portrait = rng.random(photos) < 0.3
    width = np.where(portrait, 3024, 4032)
    height = np.where(portrait, 4032, 3024)
    fw = width[faces.asset] * rng.uniform(0.04, 0.2, face_count)
    fh = fw * rng.uniform(1.15, 1.3, face_count)
    fx = rng.uniform(0, 1, face_count) * (width[faces.asset] - fw)
    fy = rng.uniform(0, 1, face_count) * (height[faces.asset] - fh)
    known = faces.person >= 0
    quality = np.round(rng.beta(4, 2, face_count), 4)
    is_clear = np.where(known, rng.random(face_count) < 0.9, rng.random(face_count) < 0.7).astype(np.int64)
    score = np.round(0.3 + 0.7 * rng.beta(5, 1.5, face_count), 4)
    detector = np.round(rng.uniform(0.6, 1.0, face_count), 4)
    unit = np.array([[0.3, 0.4], [0.7, 0.4], [0.5, 0.55], [0.35, 0.75], [0.65, 0.75]], dtype=np.float32)
    landmarks = (
        np.stack([fx, fy], axis=1)[:, None, :] + unit[None] * np.stack([fw, fh], axis=1)[:, None, :]
    ).astype(np.float32)
    centres = unit_rows(rng.normal(size=(people, EMBEDDING_DIM)).astype(np.float32))
    embedding = np.where(
        known[:, None],
        centres[np.maximum(faces.person, 0)],
        rng.normal(size=(face_count, EMBEDDING_DIM)).astype(np.float32) / math.sqrt(EMBEDDING_DIM),
    ) + rng.normal(0, 0.045, size=(face_count, EMBEDDING_DIM)).astype(np.float32)
    embedding = unit_rows(embedding)

    # Confirmed faces: 1-5 per named person; a confirmed face scores 1.0 (as confirm_face writes).
    face_ids = np.arange(1, face_count + 1)
    by_rank: dict[int, np.ndarray] = {}
    order = np.argsort(faces.person, kind="stable")
    bounds = np.searchsorted(faces.person[order], np.arange(-1, people + 1))
    for rank in range(people):
        by_rank[rank] = order[bounds[rank + 1] : bounds[rank + 2]]
    confirmed: dict[int, int] = {}  # face index -> rank
    for rank in named_ranks.tolist():
        own = by_rank[rank]
        if len(own):
            for f in rng.choice(own, size=min(len(own), int(rng.integers(1, 6))), replace=False).tolist():
                confirmed[int(f)] = rank
    for f in confirmed:
        score[f] = 1.0
    # Key face, as refresh_people picks it: confirmed first, then quality, then area, then id.
    area = fw * fh
    key_face: dict[int, int] = {}
    for rank in range(people):
        own = by_rank[rank]
        if len(own):
            best = min(own.tolist(), key=lambda f: (f not in confirmed, -quality[f], -area[f], f))
            key_face[rank] = int(face_ids[best])
    generated = time.perf_counter()
    _log(f"generated in {generated - started:.1f} s; writing the store")

    root.mkdir(parents=True, exist_ok=True)
    library = Library(root, create=True)
    try:
        db = library.db
        with library.transaction():
            moment_rows = []
            first = 0
            for k, n in enumerate(timeline.sizes.tolist()):
                sl = slice(first, first + n)
                lat, lon = timeline.lat[sl], timeline.lon[sl]
                tagged = ~np.isnan(lat)
                mlat = round(float(lat[tagged].mean()), 6) if tagged.any() else None
                mlon = round(float(lon[tagged].mean()), 6) if tagged.any() else None
                ts = timeline.ts[sl]
                off = int(timeline.offset_h[first])
                moment_rows.append(
                    (k + 1, float(ts[0]), float(ts[-1]), _iso(ts[0], off), _iso(ts[-1], off), mlat, mlon, n)
                )
                first += n
            db.executemany(
                "INSERT INTO moments (id, start_ts, end_ts, start_at, end_at, latitude, longitude, asset_count) "
                "VALUES (?,?,?,?,?,?,?,?)",
                moment_rows,
            )
            hidden_assets = rng.random(photos) < 0.002
            sizes = rng.integers(1_500_000, 5_500_000, photos)
            cameras = rng.choice(len(CAMERAS), photos)
            mtime_jitter = rng.uniform(0, 3600, photos)
            photos_dir = root / "photos"

            def asset_rows() -> Any:
                for i in range(photos):
                    ts = float(timeline.ts[i])
                    lat = float(timeline.lat[i])
                    tagged = not math.isnan(lat)
                    yield (
                        i + 1,
                        hashlib.sha256(f"synthetic:{seed}:{i}".encode()).hexdigest(),
                        f"{photos_dir}/IMG_{i:06d}.jpg",
                        int(sizes[i]),
                        "JPEG",
                        int(width[i]),
                        int(height[i]),
                        6 if portrait[i] else 1,
                        _iso(ts, int(timeline.offset_h[i])),
                        round(ts, 3),
                        "exif",
                        round(lat, 6) if tagged else None,
                        round(float(timeline.lon[i]), 6) if tagged else None,
                        CAMERAS[int(cameras[i])],
                        int(timeline.moment[i]) + 1,
                        int(hidden_assets[i]),
                        1,
                    )

            db.executemany(
                "INSERT INTO assets (id, content_hash, path, file_size, format, width, height, orientation, "
                "taken_at, taken_ts, time_source, latitude, longitude, camera, moment_id, hidden, recognised) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                asset_rows(),
            )
            db.executemany(
                "INSERT INTO asset_paths (path, asset_id, file_size, file_mtime) VALUES (?,?,?,?)",
                (
                    (
                        f"{photos_dir}/IMG_{i:06d}.jpg",
                        i + 1,
                        int(sizes[i]),
                        float(timeline.ts[i] + mtime_jitter[i]),
                    )
                    for i in range(photos)
                ),
            )
            _log(f"assets written ({time.perf_counter() - generated:.1f} s)")
            db.executemany(
                "INSERT INTO people (id, name, hidden) VALUES (?,?,?)",
                ((int(ids[rank]), name_of.get(rank), int(rank in hidden_ranks)) for rank in range(people)),
            )
            person = faces.person
            asset_id = faces.asset + 1
            blobs = embedding  # rows: float32 (128,) each

            def observation_rows() -> Any:
                for f in range(face_count):
                    p = int(person[f])
                    yield (
                        f + 1,
                        int(asset_id[f]),
                        float(round(fx[f], 1)),
                        float(round(fy[f], 1)),
                        float(round(fw[f], 1)),
                        float(round(fh[f], 1)),
                        landmarks[f].tobytes(),
                        float(detector[f]),
                        blobs[f].tobytes(),
                        float(quality[f]),
                        int(is_clear[f]),
                        int(ids[p]) if p >= 0 else None,  # cluster: one per person here
                        int(ids[p]) if p >= 0 else None,
                        float(score[f]) if p >= 0 else None,
                    )

            db.executemany(
                "INSERT INTO observations (id, asset_id, source, face_x, face_y, face_w, face_h, landmarks, "
                "detector_score, face_embedding, quality, is_clear, cluster_id, person_id, assign_score) "
                "VALUES (?,?,'detector',?,?,?,?,?,?,?,?,?,?,?,?)",
                observation_rows(),
            )
            db.executemany(
                "UPDATE people SET key_observation_id = ? WHERE id = ?",
                ((face, int(ids[rank])) for rank, face in key_face.items()),
            )
            db.executemany(
                "INSERT INTO feedback_confirmations (observation_id, person_id) VALUES (?,?)",
                ((f + 1, int(ids[rank])) for f, rank in sorted(confirmed.items())),
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        stored = time.perf_counter()
        _log(f"store written in {stored - generated:.1f} s; building the knowledge graph")

        graph = rebuild_graph(library)
        graphed = time.perf_counter()
        _log(f"graph built and saved in {graphed - stored:.1f} s ({graph.number_of_nodes():,} nodes)")

        # The people the benchmark asks for, from the generated data.
        photo_sets: dict[int, set[int]] = {}
        for a, p in zip(faces.asset.tolist(), faces.person.tolist(), strict=True):
            if p >= 0:
                photo_sets.setdefault(p, set()).add(a)
        visible_photos = {r: len(s) for r, s in photo_sets.items()}
        top_rank = max(visible_photos, key=lambda r: (visible_photos[r], -r))
        if top_rank not in name_of:
            raise RuntimeError("the most-photographed person is not named")
        shared = {
            r: len(photo_sets[r] & photo_sets[top_rank]) for r in name_of if r != top_rank and r in photo_sets
        }
        second_rank = max(shared, key=lambda r: (shared[r], -r))
        places = [graph.nodes[p] for p in graph.graph["places"]]
        top_place = max(places, key=lambda a: (a["photos"], a["city"]))
        city_count = sum(1 for a in places if a["city"].casefold() == top_place["city"].casefold())
        stats = {
            "photos": photos,
            "people": people,
            "seed": seed,
            "moments": int(len(timeline.sizes)),
            "faces": int(face_count),
            "faces_unassigned": int((faces.person < 0).sum()),
            "named_people": int(named_count),
            "hidden_people": len(hidden_ranks),
            "confirmed_faces": len(confirmed),
            "gps_photos": int((~np.isnan(timeline.lat)).sum()),
            "top_person_photos": int(visible_photos[top_rank]),
            "second_person_photos": int(visible_photos[second_rank]),
            "shared_photos": int(shared[second_rank]),
            "people_photos_median": float(np.median(list(visible_photos.values()))),
            "people_over_1000_photos": int(sum(v > 1000 for v in visible_photos.values())),
            "graph_nodes": graph.number_of_nodes(),
            "graph_edges": graph.number_of_edges(),
            "graph_places": len(places),
            "place_photos": int(top_place["photos"]),
            "place_same_city_count": city_count,
            "home": (graph.graph.get("home") or {}).get("place"),
            "trips": len(graph.graph["trips"]),
            "generate_s": round(generated - started, 2),
            "store_s": round(stored - generated, 2),
            "graph_s": round(graphed - stored, 2),
            "total_s": round(graphed - started, 2),
            "database_bytes": (root / "library.sqlite3").stat().st_size,
            "graph_bytes": library.graph_path.stat().st_size,
        }
        result = SyntheticLibrary(
            root=root,
            top_person_id=int(ids[top_rank]),
            top_person_name=name_of[top_rank],
            second_person_name=name_of[second_rank],
            place_name=str(top_place["city"]),
            stats=stats,
        )
    finally:
        library.close()
    (root / META_NAME).write_text(json.dumps(result.as_dict(), indent=2) + "\n", encoding="utf-8")
    _log(
        f"done in {stats['total_s']:.1f} s: top person {result.top_person_name} (id {result.top_person_id}, "
        f"{stats['top_person_photos']} photos), with {result.second_person_name} in {stats['shared_photos']}; "
        f"place {result.place_name} ({stats['place_photos']} photos)"
    )
    return result


def load_synthetic_library(root: Path) -> SyntheticLibrary | None:
    """The description of a finished synthetic library at `root`, or None."""
    meta = Path(root) / META_NAME
    if not meta.exists():
        return None
    try:
        return SyntheticLibrary.from_dict(json.loads(meta.read_text(encoding="utf-8")))
    except (ValueError, KeyError):
        return None


def cached_synthetic_library(
    cache: Path, photos: int, people: int, seed: int = 0, version: str = "v1"
) -> SyntheticLibrary:
    """The library cached at cache/<photos>-<people>-<version> (seed 0) or -s<seed>, built once.

    Its description (synthetic.json) is written last, so a killed build is never reused: a folder
    without it is removed and built again."""
    name = f"{photos}-{people}-{version}" + (f"-s{seed}" if seed else "")
    target = Path(cache).expanduser() / name
    found = load_synthetic_library(target)
    if found is not None:
        _log(f"reusing {target}")
        return found
    if target.exists():
        shutil.rmtree(target)
    return build_synthetic_library(target, photos=photos, people=people, seed=seed)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "root", type=Path, nargs="?", help="where to build it (default: the cache the web benchmark uses)"
    )
    parser.add_argument("--photos", type=int, default=100_000)
    parser.add_argument("--people", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.root is None:
        built = cached_synthetic_library(
            Path("~/.cache/memories/web-scale").expanduser(), args.photos, args.people, seed=args.seed
        )
    else:
        built = build_synthetic_library(args.root, photos=args.photos, people=args.people, seed=args.seed)
    print(json.dumps(built.as_dict(), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
