"""NT8 instrument names and the aliases CrossTrade accepts: ``ES 12-26`` (exact, any case),
``ES`` and ``ES1!`` (the front month), ``ESH26`` (month code and year)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

from ordergate.domain.errors import InstrumentNotFound, InvalidInput
from ordergate.domain.instruments import Instrument

__all__ = ["resolve_instrument"]

_MONTH_CODES = "FGHJKMNQUVXZ"  # January .. December
_FUTURE = re.compile(r"(?P<root>[A-Z0-9]+) (?P<month>\d\d)-(?P<year>\d\d)")
_CODED = re.compile(r"(?P<root>[A-Z0-9]+?)(?P<code>[FGHJKMNQUVXZ])(?P<year>\d\d)")
_CONTINUOUS = re.compile(r"(?P<root>[A-Z0-9]+?)1!")


def _expiry(symbol: str) -> tuple[str, int, int] | None:
    m = _FUTURE.fullmatch(symbol.upper())
    if m is None:
        return None
    return m["root"], 2000 + int(m["year"]), int(m["month"])


def resolve_instrument(raw: str, instruments: Iterable[Instrument], now: datetime) -> str:
    """The symbol ``raw`` names among ``instruments``; InstrumentNotFound if none."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise InvalidInput("instrument must be a name such as 'ES 12-26'")
    wanted = " ".join(raw.split()).upper()
    known = list(instruments)
    for instrument in known:
        if instrument.symbol.upper() == wanted:
            return instrument.symbol
    coded = _CODED.fullmatch(wanted)
    if coded is not None:
        month = _MONTH_CODES.index(coded["code"]) + 1
        target = f"{coded['root']} {month:02d}-{coded['year']}"
        for instrument in known:
            if instrument.symbol.upper() == target:
                return instrument.symbol
    continuous = _CONTINUOUS.fullmatch(wanted)
    root = continuous["root"] if continuous else wanted
    months = []
    for instrument in known:
        expiry = _expiry(instrument.symbol)
        if expiry and expiry[0] == root and (expiry[1], expiry[2]) >= (now.year, now.month):
            months.append((expiry[1], expiry[2], instrument.symbol))
    if months:
        return min(months)[2]  # the front month: the nearest expiry not yet past
    raise InstrumentNotFound(f"Instrument '{raw}' not found")
