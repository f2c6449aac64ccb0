"""CBS municipality names to GM codes, through the boundary history, year by year.

StatLine exports written by ``cbsodata`` (and the StatLine web site) label regions by
name (``Aa en Hunze``, ``Bergen (NH.)``), not by code. A name is only a key together
with its period: names are reused (``Hengelo (Gld.)`` ended in 2005, ``Hengelo (O.)``
continues), a municipality that is renamed gets a new code (``De Friese Meren`` GM1921
became ``De Fryske Marren`` GM1940 on 1 July 2015), and some tables drop CBS's province
qualifier (``Beek`` for ``Beek (L.)``). :func:`match_municipalities` resolves each
(name, year) pair to the code that existed on 1 January of that year, and says how.

Rules, in order (the first that gives exactly one code wins):

1. ``exact``: the cleaned name (NFC, surrounding and repeated spaces removed) is the CBS
   title of a code that existed on 1 January of the year.
2. ``renamed``: the name is the title of a code that did not exist on 1 January, but a
   code linked to it by a chain of CBS ``Naamswijziging`` events did (a table labelling
   the whole of 2015 with the name adopted in July 2015).
3. ``qualifier``: the qualifier written without dots (``Bergen (NH)``), or the name
   without a qualifier equals exactly one existing title with its qualifier removed
   (``Beek`` -> ``Beek (L.)``, ``Groningen`` -> ``Groningen (gemeente)``); ``Bergen``
   matches both ``Bergen (L.)`` and ``Bergen (NH.)`` and is never guessed.
4. ``folded``: the same comparisons with case and diacritics folded (``Sudwest-Fryslan``).

A label that :func:`is_regional_aggregate` recognises (youth-care regions ``(JZ)``, labour
market regions ``(AM)``, ``Nederland``, size classes such as ``Minder dan 20 000
inwoners``) is not a municipality: it gets ``how = "aggregate"`` and no code. Any other
label that no rule resolves raises :class:`UnmatchedMunicipalityError`, naming every
unmatched name with its years and, where it helps, the candidates and why they failed.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from analysis.data.boundaries import BoundaryHistory

__all__ = [
    "UnmatchedMunicipalityError",
    "is_regional_aggregate",
    "match_municipalities",
    "municipality_codes",
]

EXACT, RENAMED, QUALIFIER, FOLDED = "exact", "renamed", "qualifier", "folded"
AGGREGATE = "aggregate"  # a regional grouping, not a municipality: no code
OUTSIDE = "outside_lifetime"  # a municipal name, but its code did not exist that year
UNMATCHED = "unmatched"

# Names in common use that are not CBS's titles: suggested in the message, never matched
# (a name is a key only as CBS writes it; see the docs' "Municipality names" page).
ALIASES: dict[str, tuple[str, ...]] = {
    "den haag": ("'s-Gravenhage",),
    "the hague": ("'s-Gravenhage",),
    "s-gravenhage": ("'s-Gravenhage",),
    "den bosch": ("'s-Hertogenbosch",),
    "s-hertogenbosch": ("'s-Hertogenbosch",),
    "hengelo": ("Hengelo (O.)",),
    "bergen": ("Bergen (L.)", "Bergen (NH.)"),
    "nuenen": ("Nuenen, Gerwen en Nederwetten",),
    "sudwest fryslan": ("Súdwest-Fryslân",),
}

# A CBS regional grouping carries an upper-case type suffix without a dot: (JZ) youth-care
# region, (AM) labour-market region, (SG) stadsgewest, (GA) agglomeration, (ZK) care office,
# (LD) landsdeel, (PV) province, (CR) COROP. Municipal qualifiers have a dot ((NH.), (L.))
# or are lower case ((gemeente)), so they never match.
_AGGREGATE_SUFFIX = re.compile(r"\((?:[A-Z]{2,4})\)$")
# Size-class rows ("Minder dan 20 000 inwoners", "Gemeenten: 5 000 tot 10 000 inwoners").
_SIZE_CLASS = re.compile(r"\binwoners\b", re.IGNORECASE)
_COUNTRY = {"nederland"}
# A municipal qualifier: "(NH.)", "(L.)", "(Gld.)", "(ZH.)", "(gemeente)", "(oud)".
_QUALIFIER = re.compile(r"\s*\((?:[A-Za-z]+\.)+\)$|\s*\((?:gemeente|oud)\)$")


class UnmatchedMunicipalityError(ValueError):
    """Names that map to no municipality code in their year.

    Attributes
    ----------
    unmatched : pandas.DataFrame
        One row per unmatched name: ``name``, ``years`` (sorted list) and ``why``.
    """

    def __init__(self, message: str, unmatched: pd.DataFrame) -> None:
        super().__init__(message)
        self.unmatched = unmatched


def clean_name(name: object) -> str:
    """A label as CBS means it: NFC, no padding, single spaces (``'Aa en Hunze   '``)."""
    text = unicodedata.normalize("NFC", str(name))
    return re.sub(r"\s+", " ", text).strip()


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def _dotless(text: str) -> str:
    """A trailing qualifier without its dots: ``Bergen (NH.)`` -> ``Bergen (NH)``."""
    return re.sub(r"\(([^()]*)\)$", lambda m: "(" + m.group(1).replace(".", "") + ")", text)


def _unqualified(text: str) -> str:
    return _QUALIFIER.sub("", text)


def is_regional_aggregate(name: object) -> bool:
    """Whether a StatLine region label is a grouping of municipalities, not one.

    Parameters
    ----------
    name : str
        A region label as a StatLine export writes it.

    Returns
    -------
    bool
        True for ``Nederland``, labels ending in an upper-case region-type suffix
        (``Twente (JZ)``, ``Groningen (AM)``, ``Geen stadsgewest (SG)``) and size-class rows
        (``Minder dan 20 000 inwoners``); False for every municipal title, including
        qualified ones such as ``Bergen (NH.)`` and ``Utrecht (gemeente)``.

    Examples
    --------
    >>> is_regional_aggregate("Twente (JZ)"), is_regional_aggregate("Bergen (NH.)")
    (True, False)
    >>> is_regional_aggregate("20 000 tot 50 000 inwoners")
    True
    """
    text = clean_name(name)
    return bool(
        _AGGREGATE_SUFFIX.search(text) or _SIZE_CLASS.search(text) or text.casefold() in _COUNTRY
    )


class _Index:
    """Title lookups over a boundary history's municipality codes."""

    def __init__(self, history: BoundaryHistory) -> None:
        self.history = history
        periods = history.periods[history.periods["municipality"]]
        self.by_title: dict[str, list[str]] = defaultdict(list)
        self.by_dotless: dict[str, list[str]] = defaultdict(list)
        self.by_unqualified: dict[str, list[str]] = defaultdict(list)
        self.by_folded: dict[str, list[str]] = defaultdict(list)
        self.by_folded_unqualified: dict[str, list[str]] = defaultdict(list)
        for code, title in zip(periods["code"], periods["name"], strict=True):
            title = clean_name(title)
            self.by_title[title].append(code)
            self.by_dotless[_dotless(title)].append(code)
            self.by_unqualified[_unqualified(title)].append(code)
            self.by_folded[_fold(title)].append(code)
            self.by_folded_unqualified[_fold(_unqualified(title))].append(code)
        self.renames = _rename_links(history)
        self._alive: dict[int, frozenset[str]] = {}

    def alive(self, year: int) -> frozenset[str]:
        if year not in self._alive:
            self._alive[year] = frozenset(self.history.municipalities_on(year))
        return self._alive[year]

    def resolve(self, name: str, year: int) -> tuple[str | None, str, str]:
        """``(code, how, why)``; ``code`` None when unresolved (``why`` says why)."""
        alive = self.alive(year)
        exact = self.by_title.get(name, [])
        found = [c for c in exact if c in alive]
        if len(found) == 1:
            return found[0], EXACT, ""
        renamed = sorted({r for c in exact for r in self._rename_chain(c) if r in alive})
        if len(renamed) == 1:
            return renamed[0], RENAMED, ""
        # "Bergen (NH)" for "Bergen (NH.)": checked before the aggregate test, whose
        # upper-case suffix it would otherwise match
        found = sorted({c for c in self.by_dotless.get(_dotless(name), []) if c in alive})
        if len(found) == 1:
            return found[0], QUALIFIER, ""
        if is_regional_aggregate(name):
            return None, AGGREGATE, ""
        for how, table, key in (
            (QUALIFIER, self.by_unqualified, _unqualified(name)),
            (FOLDED, self.by_folded, _fold(name)),
            (FOLDED, self.by_folded_unqualified, _fold(_unqualified(name))),
        ):
            found = sorted({c for c in table.get(key, []) if c in alive})
            if len(found) == 1:
                return found[0], how, ""
            if len(found) > 1:
                return None, UNMATCHED, f"ambiguous: {self._describe(found)} all existed"
        if exact:
            return None, OUTSIDE, f"{self._describe(exact)} did not exist on 1 January {year}"
        close = self.suggest(name, year)
        hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
        return None, UNMATCHED, f"no CBS municipality has this name{hint}"

    def suggest(self, name: str, year: int, n: int = 3) -> list[str]:
        """CBS titles of the year close to ``name``: common aliases, then difflib's."""
        titles = sorted({self.history.periods.loc[c, "name"] for c in self.alive(year)})
        wanted = {_unqualified(a) for a in ALIASES.get(_fold(name).replace("'", "").strip(), ())}
        alias = [t for t in titles if t in wanted or _unqualified(t) in wanted]
        by_fold = {_fold(_unqualified(t)): t for t in titles} | {_fold(t): t for t in titles}
        close = difflib.get_close_matches(_fold(name), list(by_fold), n=n, cutoff=0.75)
        return list(dict.fromkeys([*alias, *(by_fold[c] for c in close)]))[:n]

    def _rename_chain(self, code: str) -> set[str]:
        seen, todo = {code}, [code]
        while todo:
            for other in self.renames.get(todo.pop(), ()):
                if other not in seen:
                    seen.add(other)
                    todo.append(other)
        return seen - {code}

    def _describe(self, codes: Iterable[str]) -> str:
        parts = []
        for code in codes:
            row = self.history.periods.loc[code]
            begin = "" if pd.isna(row["begin"]) else f"from {row['begin'].date()}"
            end = "" if pd.isna(row["end"]) else f"until {row['end'].date()}"
            span = " ".join(p for p in (begin, end) if p)
            parts.append(f"{code} {row['name']}" + (f" ({span})" if span else ""))
        return ", ".join(parts)


def _rename_links(history: BoundaryHistory) -> dict[str, set[str]]:
    """Codes joined by a CBS Naamswijziging, in both directions."""
    events = history.events
    renamed = events[(events["kind"] == "renamed") & events["counterpart_code"].notna()]
    links: dict[str, set[str]] = defaultdict(set)
    for code, other in zip(renamed["code"], renamed["counterpart_code"], strict=True):
        links[code].add(str(other))
        links[str(other)].add(code)
    return links


def _years(years: int | Sequence[int] | pd.Series, n: int) -> list[int]:
    if isinstance(years, int):
        return [years] * n
    values = list(years)
    if len(values) != n:
        raise ValueError(f"{n} names but {len(values)} years: give one year per name")
    return [int(y) for y in values]


def match_municipalities(
    names: Sequence[str] | pd.Series,
    years: int | Sequence[int] | pd.Series,
    history: BoundaryHistory,
    *,
    errors: str = "raise",
) -> pd.DataFrame:
    """Resolve each (name, year) to the municipality code of 1 January of that year.

    Parameters
    ----------
    names : sequence of str or pandas.Series
        Region labels as a StatLine export writes them (padding and NFC differences
        are cleaned; the labels themselves are never edited by hand).
    years : int or sequence of int
        The year of each label (one for all, or one per name). A name is looked up
        among the codes that existed on 1 January of its year.
    history : analysis.data.boundaries.BoundaryHistory
        CBS's region history (``load_boundary_history("codes-RegioS.json")``).
    errors : {"raise", "report"}
        ``"raise"``: raise :class:`UnmatchedMunicipalityError` naming every unmatched
        name with its years; ``"report"``: leave them with ``how == "unmatched"``.

    Returns
    -------
    pandas.DataFrame
        Aligned with ``names`` (same index when it is a Series): ``name`` (as given),
        ``year``, ``code`` (``GMxxxx``; ``<NA>`` unless resolved), ``title`` (CBS's
        title of the code), ``how`` and ``why`` (the reason when unresolved). ``how`` is
        ``exact``, ``renamed``, ``qualifier`` or ``folded`` (resolved, see the module
        docstring), ``aggregate`` (a regional grouping), ``outside_lifetime`` (a CBS
        municipal name whose code did not exist on 1 January of that year: StatLine
        exports list every region in every period, with empty cells where CBS has
        ``Impossible``; never an error here, the caller decides) or ``unmatched``.

    Raises
    ------
    UnmatchedMunicipalityError
        With ``errors="raise"``, when a label that is not a recognised regional
        aggregate matches no code, or several (``Bergen`` without its qualifier).

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> history = load_boundary_history("data/raw/statline/03759ned/codes-RegioS.json")
    >>> match_municipalities(["De Fryske Marren", "Beek", "Twente (JZ)"], 2015, history)[
    ...     ["code", "how"]].to_dict("list")
    {'code': ['GM1921', 'GM0888', None], 'how': ['renamed', 'qualifier', 'aggregate']}
    """
    if errors not in ("raise", "report"):
        raise ValueError(f"errors must be 'raise' or 'report', not {errors!r}")
    index = names.index if isinstance(names, pd.Series) else pd.RangeIndex(len(names))
    raw = list(names)
    year_list = _years(years, len(raw))
    lookup = _Index(history)
    resolved: dict[tuple[str, int], tuple[str | None, str, str]] = {}
    for name, year in zip(raw, year_list, strict=True):
        key = (clean_name(name), year)
        if key not in resolved:
            resolved[key] = lookup.resolve(*key)
    rows = [resolved[(clean_name(n), y)] for n, y in zip(raw, year_list, strict=True)]
    codes = pd.array([r[0] for r in rows], dtype="string")
    title_of = history.periods["name"].to_dict()
    titles = [None if r[0] is None else str(title_of[r[0]]) for r in rows]
    frame = pd.DataFrame(
        {
            "name": raw,
            "year": year_list,
            "code": codes,
            "title": pd.array(titles, dtype="string"),
            "how": [r[1] for r in rows],
            "why": [r[2] for r in rows],
        },
        index=index,
    )
    if errors == "raise":
        _raise_unmatched(frame)
    return frame


def _raise_unmatched(frame: pd.DataFrame, kinds: tuple[str, ...] = (UNMATCHED,)) -> None:
    bad = frame[frame["how"].isin(kinds)]
    if bad.empty:
        return
    table = (
        bad.assign(name=bad["name"].map(clean_name))
        .groupby(["name", "why"], sort=True)["year"]
        .agg(lambda s: sorted(set(int(y) for y in s)))
        .rename("years")
        .reset_index()[["name", "years", "why"]]
    )
    shown = [f"{r.name!r} in {_span(r.years)} ({r.why})" for r in table.head(15).itertuples()]
    more = f" and {len(table) - 15} more" if len(table) > 15 else ""
    raise UnmatchedMunicipalityError(
        f"{len(table)} municipality name(s) match no CBS code in their year: "
        + "; ".join(shown)
        + more,
        table,
    )


def _span(years: list[int]) -> str:
    if len(years) > 2 and years[-1] - years[0] == len(years) - 1:
        return f"{years[0]}-{years[-1]}"
    return ", ".join(str(y) for y in years)


def municipality_codes(
    names: Sequence[str] | pd.Series,
    years: int | Sequence[int] | pd.Series,
    history: BoundaryHistory,
) -> pd.Series:
    """GM code of each municipality name in its year; ``<NA>`` for regional aggregates.

    The short form of :func:`match_municipalities` (see there for the rules): names are
    matched among the municipalities that existed on 1 January of their year, so
    ``Bergen (L.)`` and ``Bergen (NH.)``, renamed municipalities and names valid only
    in some years resolve to the right code. Regional aggregates (``Twente (JZ)``,
    ``Nederland``, size classes) are recognised and left ``<NA>``; nothing is guessed.

    Parameters
    ----------
    names : sequence of str or pandas.Series
        Region labels.
    years : int or sequence of int
        One year for all names, or one per name.
    history : analysis.data.boundaries.BoundaryHistory
        CBS's region history.

    Returns
    -------
    pandas.Series
        ``string`` dtype, aligned with ``names``.

    Raises
    ------
    UnmatchedMunicipalityError
        Naming every name (with its years) that matches no code or several, or whose
        code did not exist in that year (use :func:`match_municipalities` to drop the
        empty rows StatLine writes for such years instead).

    Examples
    --------
    >>> from analysis.data.boundaries import load_boundary_history
    >>> history = load_boundary_history("data/raw/statline/03759ned/codes-RegioS.json")
    >>> municipality_codes(["Bergen (L.)", "Bergen (NH.)", "het Bildt"], 2017, history).tolist()
    ['GM0893', 'GM0373', 'GM0063']
    """
    matched = match_municipalities(names, years, history, errors="report")
    _raise_unmatched(matched, (UNMATCHED, OUTSIDE))
    return matched["code"]
