"""Describe the synthetic merger history in CBS's own Dutch wording (``codes-RegioS``).

The phrases are those of the real ``RegioSCodes`` descriptions, e.g.
"Opgeheven per 01-01-2019, overgegaan naar:\\r\\n- Altena (GM1959),\\r\\n... 5041 hectare met
5167 woningen en 13321 inwoners", so the boundary parser reads synthetic and real files alike.
Newest event first, as CBS writes them; hectares and dwellings are derived from inhabitants.
"""

from __future__ import annotations

from analysis.data.synthetic.geography import Correction, Entity, Geography, Merger, Split

CRLF = "\r\n"


def _date(year: int) -> str:
    return f"01-01-{year}"


def _item(ent: Entity, inhabitants: float) -> str:
    people = int(round(inhabitants))
    hectares = max(1, int(round(people / 6)))
    dwellings = int(round(people / 2.3))
    return (
        f"- {ent.name} ({ent.code}),{CRLF}"
        f"... {hectares} hectare met {dwellings} woningen en {people} inwoners{CRLF}"
    )


def describe_entities(geo: Geography) -> dict[int, str]:
    """The ``Description`` text of every synthetic code, keyed by entity key."""
    blocks: dict[int, list[tuple[int, str]]] = {key: [] for key in geo.entities}
    ents = geo.entities
    for ev in geo.events:
        when = _date(ev.year)
        if isinstance(ev, Merger):
            target = ents[ev.target]
            for s in ev.sources:
                text = f"Opgeheven per {when}, overgegaan naar:{CRLF}" + _item(
                    target, ents[s].population
                )
                blocks[s].append((ev.year, text))
            items = "".join(
                _item(ents[s], ents[s].population)
                for s in sorted(ev.sources, key=lambda k: ents[k].name)
            )
            blocks[ev.target].append((ev.year, f"Ontstaan per {when}, ontvangen van:{CRLF}{items}"))
        elif isinstance(ev, Split):
            source = ents[ev.source]
            items = "".join(
                _item(ents[r], moved) for r, moved in zip(ev.receivers, ev.inhabitants, strict=True)
            )
            blocks[ev.source].append(
                (ev.year, f"Opgeheven per {when}, overgegaan naar:{CRLF}{items}")
            )
            for receiver, moved in zip(ev.receivers, ev.inhabitants, strict=True):
                # CBS lists the receiving municipality itself among what it received from.
                own = ents[receiver].population - moved
                parts = sorted(
                    [(ents[receiver], own), (source, moved)], key=lambda pair: pair[0].name
                )
                items = "".join(_item(ent, people) for ent, people in parts)
                text = f"Gemeentelijke herindeling per {when}, ontvangen van:{CRLF}{items}"
                blocks[receiver].append((ev.year, text))
        elif isinstance(ev, Correction):
            giver, receiver = ents[ev.giver], ents[ev.receiver]
            blocks[ev.giver].append(
                (
                    ev.year,
                    f"Grenswijziging per {when}, overgegaan naar:{CRLF}"
                    + _item(receiver, ev.inhabitants),
                )
            )
            blocks[ev.receiver].append(
                (
                    ev.year,
                    f"Grenswijziging per {when}, ontvangen van:{CRLF}"
                    + _item(giver, ev.inhabitants),
                )
            )
    out = {}
    for key, items in blocks.items():
        ent = ents[key]
        texts = [text for _, text in sorted(items, key=lambda pair: -pair[0])]
        begin = "Begindatum voor 1830" if ent.begin is None else f"Begindatum {_date(ent.begin)}"
        out[key] = CRLF.join(texts) + (CRLF if texts else "") + begin + CRLF
    return out
