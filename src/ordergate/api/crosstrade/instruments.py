"""NT8 instrument names and the aliases CrossTrade accepts, resolved against the instruments
that exist: ``ES 03-27`` (the exact name, any case); ``ESH27`` or ``ESH2027`` (month letter
and year: that contract); ``ES`` or ``ES1!`` (the front month), ``ES2!`` (the next), and so
on. The front month is the nearest contract of the root that is still live
(``domain/contracts.py``: a contract trades up to and including its third Friday)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime

from ordergate.domain.contracts import MONTH_CODES, ContractMonth, parse_contract
from ordergate.domain.errors import InstrumentNotFound, InvalidInput
from ordergate.domain.instruments import Instrument

__all__ = ["resolve_instrument"]

_CODED = re.compile(r"(?P<root>[A-Z0-9]+?)(?P<code>[FGHJKMNQUVXZ])(?P<year>\d\d|20\d\d)")
_CONTINUOUS = re.compile(r"(?P<root>[A-Z0-9]+?)(?P<nth>[1-9])!")


def _coded(wanted: str) -> str | None:
    """The NT8 name an exchange name (``ESH27``, ``ESH2027``) stands for, if it is one."""
    coded = _CODED.fullmatch(wanted)
    if coded is None:
        return None
    month = MONTH_CODES.index(coded["code"]) + 1
    return ContractMonth(2000 + int(coded["year"][-2:]), month).symbol(coded["root"])


def _live(root: str, symbols: Iterable[str], now: datetime) -> list[str]:
    """The contracts of ``root`` among ``symbols`` still live at ``now``, nearest first."""
    today = now.astimezone(UTC).date()
    contracts = []
    for symbol in symbols:
        parsed = parse_contract(symbol)
        if parsed is not None and parsed[0] == root and parsed[1].is_live(today):
            contracts.append((parsed[1], symbol))
    return [symbol for _, symbol in sorted(contracts)]


def resolve_instrument(raw: str, instruments: Iterable[Instrument], now: datetime) -> str:
    """The symbol ``raw`` names among ``instruments`` at ``now``; InstrumentNotFound if none."""
    if not isinstance(raw, str) or not raw.strip() or len(raw) > 32:
        raise InvalidInput("instrument must be a name such as 'ES 12-26'")
    wanted = " ".join(raw.split()).upper()
    known = {i.symbol.upper(): i.symbol for i in instruments}
    for name in (wanted, _coded(wanted)):
        if name is not None and name in known:
            return known[name]
    continuous = _CONTINUOUS.fullmatch(wanted)
    root, nth = (continuous["root"], int(continuous["nth"])) if continuous else (wanted, 1)
    live = _live(root, known.values(), now)
    if len(live) >= nth:
        return live[nth - 1]
    raise InstrumentNotFound(f"Instrument '{raw}' not found")
