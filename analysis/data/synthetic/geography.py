"""Synthetic municipal geography: codes, names, provinces and merger history, 2010-2023.

The number of municipalities on 1 January follows the official counts (431 in 2010 ...
342 in 2023) through synthetic mergers, one split (a municipality dissolved over two
neighbours, as Littenseradiel was in 2018) and one boundary correction (2020, the one year
the count did not change). Everything here is SYNTHETIC: codes are GM7001 and up (CBS has
never issued a code above GM1999) and every name starts with "Syn-".

Population calibration (real CBS 03759ned, 1 January 2019, 355 municipalities, total
17,282,163; the generator does not read these files, the figures are written here):
quantiles 0%: 936, 5%: 10,421, 10%: 13,307, 25%: 21,395, 50%: 30,194, 75%: 49,094,
90%: 90,598, 95%: 135,509, 99%: 287,405, 100%: 862,965; size classes <20k: 81,
20-50k: 189, 50-100k: 54, >=100k: 31. The synthetic 2019 municipalities are drawn from
the quantile function interpolated (log-linear) through these points.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

OFFICIAL_COUNTS: dict[int, int] = {
    2010: 431, 2011: 418, 2012: 415, 2013: 408, 2014: 403, 2015: 393, 2016: 390,
    2017: 388, 2018: 380, 2019: 355, 2020: 355, 2021: 352, 2022: 345, 2023: 342,
}  # fmt: skip
CALIBRATION_YEAR = 2019
CALIBRATION_QUANTILES = (
    (0.00, 936), (0.05, 10_421), (0.10, 13_307), (0.25, 21_395), (0.50, 30_194),
    (0.75, 49_094), (0.90, 90_598), (0.95, 135_509), (0.99, 287_405), (1.00, 862_965),
)  # fmt: skip
N_PROVINCES = 12
SPLIT_YEAR = 2018
CORRECTION_YEAR = 2020
CODE_OFFSET = 7001  # synthetic codes GM7001...; real CBS codes stop below GM2000

_PREFIXES = (
    "Aal", "Berg", "Dal", "Eem", "Hof", "Kor", "Lin", "Mer", "Oost", "Rijn", "Steen", "Ter",
    "Veld", "Wes", "Zand", "Bro", "Gel", "Haar", "Lom", "Nie", "Ulm", "Vis", "Wol", "Ijs",
    "Ank", "Bur", "Drie", "Fol", "Gra", "Hun", "Kam", "Mol",
)  # fmt: skip
_SUFFIXES = (
    "dam", "dijk", "hoven", "wijk", "veen", "horst", "broek", "sloot", "oord", "rade",
    "meer", "hem", "lo", "zijl", "wold", "kerk", "berg", "gaast", "weerd", "rum",
)  # fmt: skip


@dataclass
class Entity:
    """One synthetic municipality code over its life."""

    key: int
    province: int
    population: float  # inhabitants at its last change (reference for inhabitants moved)
    begin: int | None = None  # year it came into being on 1 January; None = before 2010
    end: int | None = None  # year it was dissolved on 1 January; None = still exists
    code: str = ""
    name: str = ""


@dataclass
class Merger:
    year: int
    sources: list[int]
    target: int  # a new entity; its population is the sum of the sources'


@dataclass
class Split:
    year: int
    source: int
    receivers: list[int]
    inhabitants: list[float]  # moved to each receiver


@dataclass
class Correction:
    year: int
    giver: int
    receiver: int
    inhabitants: float
    hectares: float


@dataclass
class Geography:
    """Entities and dated events; ``units`` are the codes existing on 1 January 2023."""

    entities: dict[int, Entity]
    events: list[Merger | Split | Correction]
    units: list[int] = field(default_factory=list)

    def existing(self, year: int) -> list[int]:
        return [
            e.key
            for e in self.entities.values()
            if (e.begin is None or e.begin <= year) and (e.end is None or e.end > year)
        ]


def calibrated_populations(n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` populations from the real 2019 quantile function, log-linear between points."""
    probs, values = zip(*CALIBRATION_QUANTILES, strict=True)
    u = (np.arange(n) + rng.uniform(0.2, 0.8, n)) / n
    return np.round(np.exp(np.interp(u, probs, np.log(values))))


def build_geography(seed: int) -> Geography:
    """Build the synthetic merger history that reproduces the official counts."""
    rng = np.random.default_rng([seed, 2019])
    entities: dict[int, Entity] = {}

    def new_entity(province: int, population: float, begin: int | None) -> Entity:
        ent = Entity(len(entities), province, float(population), begin)
        entities[ent.key] = ent
        return ent

    pops = rng.permutation(calibrated_populations(OFFICIAL_COUNTS[CALIBRATION_YEAR], rng))
    provinces = rng.integers(0, N_PROVINCES, len(pops))
    for pop, prov in zip(pops, provinces, strict=True):
        new_entity(int(prov), pop, None)
    events: list[Merger | Split | Correction] = []
    geo = Geography(entities, events)

    # Backwards from 2019: each merger of year Y is undone into 2-4 predecessors.
    for year in range(CALIBRATION_YEAR, 2010, -1):
        needed = OFFICIAL_COUNTS[year - 1] - OFFICIAL_COUNTS[year]
        if year == SPLIT_YEAR:
            _undo_split(geo, year, rng, new_entity)
            needed -= 1
        while needed > 0:
            k = int(min(needed + 1, rng.choice([2, 2, 3, 3, 4])))
            _undo_merger(geo, year, k, rng, new_entity)
            needed -= k - 1
    # Forwards from 2019: a boundary correction in 2020, then mergers of small codes.
    _add_correction(geo, CORRECTION_YEAR, rng)
    for year in range(CALIBRATION_YEAR + 1, 2024):
        needed = OFFICIAL_COUNTS[year - 1] - OFFICIAL_COUNTS[year]
        while needed > 0:
            k = int(min(needed + 1, rng.choice([2, 3])))
            _merge_forward(geo, year, k, rng, new_entity)
            needed -= k - 1
    events.sort(key=lambda ev: ev.year)
    _assign_codes_and_names(geo, rng)
    geo.units = sorted(geo.existing(2023), key=lambda k: entities[k].code)
    for year, count in OFFICIAL_COUNTS.items():
        assert len(geo.existing(year)) == count, (year, len(geo.existing(year)))
    return geo


def _undo_merger(geo: Geography, year: int, k: int, rng, new_entity) -> None:
    """Make a code existing in ``year`` the product of a merger of ``k`` new predecessors."""
    candidates = [
        key
        for key in geo.existing(year)
        if geo.entities[key].begin is None and 15_000 <= geo.entities[key].population <= 80_000
    ]
    target = geo.entities[int(rng.choice(candidates))]
    shares = rng.dirichlet(np.full(k, 2.5))
    sources = [new_entity(target.province, round(target.population * s), None).key for s in shares]
    for key in sources:
        geo.entities[key].end = year
    target.begin = year
    target.population = sum(geo.entities[key].population for key in sources)
    geo.events.append(Merger(year, sources, target.key))


def _undo_split(geo: Geography, year: int, rng, new_entity) -> None:
    """A predecessor dissolved in ``year`` over two neighbours that both continue."""
    candidates = [
        key
        for key in geo.existing(year)
        if geo.entities[key].begin is None and 30_000 <= geo.entities[key].population <= 150_000
    ]
    receivers = [int(k) for k in rng.choice(candidates, size=2, replace=False)]
    province = geo.entities[receivers[0]].province
    geo.entities[receivers[1]].province = province  # neighbours lie in one province
    moved = [float(round(rng.uniform(2_000, 5_000))) for _ in receivers]
    source = new_entity(province, sum(moved), None)
    source.end = year
    geo.events.append(Split(year, source.key, receivers, moved))


def _add_correction(geo: Geography, year: int, rng) -> None:
    existing = [k for k in geo.existing(year) if geo.entities[k].population > 20_000]
    giver, receiver = (int(k) for k in rng.choice(existing, size=2, replace=False))
    geo.entities[receiver].province = geo.entities[giver].province
    moved = float(round(rng.uniform(200, 900)))
    geo.events.append(Correction(year, giver, receiver, moved, float(round(moved / 8))))


def _merge_forward(geo: Geography, year: int, k: int, rng, new_entity) -> None:
    existing = geo.existing(year - 1)
    merged_already = {s for ev in geo.events if isinstance(ev, Merger) for s in ev.sources}
    small = [
        key
        for key in existing
        if geo.entities[key].population < 30_000 and key not in merged_already
    ]
    first = geo.entities[int(rng.choice(small))]
    same_province = [key for key in small if geo.entities[key].province == first.province]
    others = [key for key in same_province if key != first.key]
    if len(others) < k - 1:
        others = [key for key in small if key != first.key]
    sources = [first.key, *(int(k_) for k_ in rng.choice(others, size=k - 1, replace=False))]
    for key in sources:
        geo.entities[key].end = year
        geo.entities[key].province = first.province
    target = new_entity(first.province, sum(geo.entities[s].population for s in sources), year)
    geo.events.append(Merger(year, sources, target.key))


def _assign_codes_and_names(geo: Geography, rng) -> None:
    order = sorted(geo.entities.values(), key=lambda e: (e.begin or 0, e.key))
    names = [f"Syn-{p}{s}" for p in _PREFIXES for s in _SUFFIXES]
    picks = rng.choice(len(names), size=len(order), replace=False)
    for i, (ent, pick) in enumerate(zip(order, picks, strict=True)):
        ent.code = f"GM{CODE_OFFSET + i:04d}"
        ent.name = names[int(pick)]


def merger_years(geo: Geography) -> np.ndarray:
    """Per 2023 unit (in ``geo.units`` order), the year it was formed by a merger, 0 if never.

    Only :class:`Merger` targets count: a split receiver takes in a few thousand
    inhabitants of a dissolved neighbour and does not become a different municipality.
    Every merger target is a new code, so a unit has at most one merger year.
    """
    formed = {ev.target: ev.year for ev in geo.events if isinstance(ev, Merger)}
    return np.array([formed.get(key, 0) for key in geo.units], dtype=int)


def piece_shares(geo: Geography, year: int) -> tuple[list[int], np.ndarray]:
    """Which share of each 2023 unit lay in each code existing in ``year``.

    Returns the entity keys existing in ``year`` and a matrix (codes x units) whose columns
    sum to 1: walking back from 2023, every event is undone in terms of inhabitants moved.
    """
    unit_index = {key: i for i, key in enumerate(geo.units)}
    identity = np.eye(len(geo.units))
    rows = {key: identity[i] for key, i in unit_index.items()}
    pop = {key: geo.entities[key].population for key in rows}
    for event in sorted(geo.events, key=lambda ev: -ev.year):
        if event.year <= year:
            break
        if isinstance(event, Merger):
            total = sum(geo.entities[s].population for s in event.sources)
            row = rows.pop(event.target)
            pop.pop(event.target)
            for s in event.sources:
                rows[s] = row * geo.entities[s].population / total
                pop[s] = geo.entities[s].population
        elif isinstance(event, Split):
            piece = np.zeros(len(geo.units))
            for receiver, moved in zip(event.receivers, event.inhabitants, strict=True):
                share = moved / pop[receiver]  # receivers' population includes what they got
                piece += rows[receiver] * share
                rows[receiver] = rows[receiver] * (1 - share)
            rows[event.source] = piece
            pop[event.source] = sum(event.inhabitants)
        else:
            share = event.inhabitants / pop[event.receiver]
            rows[event.giver] = rows[event.giver] + rows[event.receiver] * share
            rows[event.receiver] = rows[event.receiver] * (1 - share)
    keys = sorted(rows, key=lambda k: geo.entities[k].code)
    matrix = np.vstack([rows[k] for k in keys])
    assert np.allclose(matrix.sum(axis=0), 1.0), "every unit must be fully allocated"
    return keys, matrix
