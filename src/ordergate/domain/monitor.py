"""The per-account risk monitor (CrossTrade's Account Manager), as a pure state machine.

The engine feeds ``Monitor.observe`` a ``Sample`` of the account on every quote and fill (the
fill that leaves the account flat included) and carries out what comes back; it journals
``state``, ``stopped_rule`` and ``marks.to_wire()``. ``observe`` compares ``sample.at`` with
cached UTC instants (next session reset, next timed event) and converts time zones only when
one is reached. States::

    DISABLED  settings.enabled is off: bookkeeping only, nothing fires, nothing is blocked
    ACTIVE    every rule is evaluated
    INACTIVE  the session opened with a position: P/L rules are off until a flat session open
    STOPPED   a rule fired: opening orders are refused until reset() or the next session

Where the spec is silent:

- INACTIVE still enforces trading windows and fires auto-flatten and window flatten-after:
  they do not depend on session P/L.
- Each rule fires once per breach: after reset() a rule still past its limit stays quiet and
  re-arms once P/L is back inside it (a threshold) or reaches its trigger again (a drawdown).
- Rules are checked in the order loss, profit, minimum profit drawdown, trailing drawdown;
  the first breach stops the monitor and the others wait.
- A session opens with the previous sample's realized P/L and commission (the state at the
  reset instant) and is carried (INACTIVE) if that sample held a position; a monitor's very
  first sample starts its first session ACTIVE, with P/L counted from that sample.
- A timed flatten (auto-flatten, window flatten-after) fires on the first sample after its
  time, and only if the account held a position at that time (the sample before it did);
  times that passed while DISABLED or STOPPED, or before configure(), are skipped.
- A stop survives disabling and re-enabling in the same session; only reset() or the next
  session clears it. A stop from a session that has ended blocks nothing.
- A session reset before noon names the session by its own date, from noon on by the next
  date (18:00 Monday opens Tuesday's session); weekend sessions are ordinary sessions.
- The session high of P/L is kept as measured under the settings in force when it was made;
  configure() arms changed rules against it and they fire on the next sample.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import MISSING, Field, dataclass, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import NoReturn
from zoneinfo import ZoneInfo

from ordergate.domain.errors import InvalidInput
from ordergate.domain.monitor_settings import (
    MAX_TRADING_WINDOWS,
    Action,
    MinProfitDrawdown,
    MonitorSettings,
    TradingWindow,
    TrailingDrawdown,
    TrailMetric,
    TrailUnit,
)

__all__ = [
    "MAX_TRADING_WINDOWS",
    "Action",
    "Firing",
    "Marks",
    "MinProfitDrawdown",
    "Monitor",
    "MonitorSettings",
    "MonitorState",
    "Sample",
    "TradingWindow",
    "TrailMetric",
    "TrailUnit",
    "TrailingDrawdown",
    "session_of",
]

_NOON = time(12)
_DAY = timedelta(days=1)
_SECOND = timedelta(seconds=1)
_ZERO = Decimal(0)
#: "Never": no session to roll yet, or no timed event configured.
_FAR = datetime.max.replace(tzinfo=UTC)


class MonitorState(enum.StrEnum):
    ACTIVE = "ACTIVE"
    INACTIVE = "INACTIVE"
    STOPPED = "STOPPED"
    DISABLED = "DISABLED"


@dataclass(frozen=True, slots=True)
class Sample:
    """The account as the engine sees it at ``at`` (aware UTC); P/L and commission are
    lifetime totals, the monitor subtracts the session's opening values."""

    at: datetime
    realized: Decimal
    unrealized: Decimal
    commission: Decimal
    net_liquidation: Decimal
    flat: bool


@dataclass(frozen=True, slots=True)
class Firing:
    """A rule that fired: the engine carries out ``action`` and logs ``message``."""

    rule: str
    action: Action
    stops: bool
    message: str
    at: datetime


@dataclass(slots=True)
class Marks:
    """Everything the monitor keeps across restarts: the session's opening values and
    watermarks, the rules' progress, and the previous sample."""

    session: date
    realized_start: Decimal
    commission_start: Decimal
    pnl_high: Decimal
    netliq_high: Decimal
    last_realized: Decimal
    last_commission: Decimal
    last_flat: bool
    #: Timed events up to this instant are handled (fired or skipped).
    seen_until: datetime
    #: The session opened with a position: the monitor is INACTIVE for it.
    carried: bool = False
    loss_armed: bool = True
    profit_armed: bool = True
    mpd_watching: bool = False
    td_watching: bool = False
    td_high: Decimal = _ZERO
    last_auto_flatten: date | None = None

    def to_wire(self) -> dict[str, str | bool | None]:
        """A JSON-safe form for the journal: Decimals, dates and times as strings."""
        return {f.name: _encode(getattr(self, f.name)) for f in fields(self)}

    @classmethod
    def from_wire(cls, data: Mapping[str, object]) -> Marks:
        """Marks from ``to_wire``'s form; a malformed record is ``InvalidInput``."""
        known = {f.name: f for f in fields(cls)}
        unknown = sorted(set(data) - set(known))
        if unknown:
            raise InvalidInput(f"unknown key marks.{unknown[0]}")
        values = {
            name: _DECODERS[str(known[name].type)](value, f"marks.{name}")
            for name, value in data.items()
        }
        try:
            return cls(**values)  # type: ignore[arg-type]
        except TypeError:
            missing = sorted(n for n, f in known.items() if n not in values and _required(f))
            raise InvalidInput(f"marks.{missing[0]} is required") from None


def _required(f: Field[object]) -> bool:
    return f.default is MISSING and f.default_factory is MISSING


def _encode(value: object) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, date):  # datetime too
        return value.isoformat()
    return str(value)


def _decode_decimal(value: object, name: str) -> Decimal:
    try:
        number = Decimal(value) if isinstance(value, str) else None
    except ArithmeticError:
        number = None
    if number is None or not number.is_finite():
        raise InvalidInput(f"{name} must be a decimal string")
    return number


def _decode_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise InvalidInput(f"{name} must be true or false")
    return value


def _decode_date(value: object, name: str) -> date:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else _bad(name)
    except ValueError:
        return _bad(name)


def _decode_datetime(value: object, name: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value) if isinstance(value, str) else _bad(name)
    except ValueError:
        return _bad(name)
    return _aware(moment, name)


def _bad(name: str) -> NoReturn:
    raise InvalidInput(f"{name} must be an ISO date or time")


_DECODERS: dict[str, Callable[[object, str], object]] = {
    "Decimal": _decode_decimal,
    "bool": _decode_bool,
    "date": _decode_date,
    "date | None": lambda value, name: None if value is None else _decode_date(value, name),
    "datetime": _decode_datetime,
}


def _aware(moment: datetime, name: str) -> datetime:
    if moment.utcoffset() is None:
        raise InvalidInput(f"{name} must be timezone-aware")
    return moment


def session_of(at: datetime, tz: ZoneInfo, reset: time) -> date:
    """The trading date of the session holding ``at``: sessions start at ``reset`` local time,
    and one that starts at or after noon is named by the next date (18:00 Monday: Tuesday)."""
    local = _aware(at, "at").astimezone(tz)
    day = local.date() if reset < _NOON else local.date() + _DAY
    return day if local.time() >= reset else day - _DAY


def _session_end(session: date, tz: ZoneInfo, reset: time) -> datetime:
    return _first_instant(session if reset >= _NOON else session + _DAY, reset, tz)


def _first_instant(day: date, at: time, tz: ZoneInfo) -> datetime:
    """The first instant (UTC) at which the local clock on ``day`` reads ``at`` or later: the
    first of two readings in a fall-back fold, the end of the gap in a spring-forward one."""
    wall = datetime.combine(day, at)
    first = wall.replace(tzinfo=tz).astimezone(UTC)
    if first.astimezone(tz).replace(tzinfo=None) == wall:
        return first
    # ``wall`` falls in a gap: its two readings bracket the change, found to the second.
    other = wall.replace(tzinfo=tz, fold=1).astimezone(UTC)
    low, high = min(first, other), max(first, other)
    before, after = 0, int((high - low).total_seconds())
    while after - before > 1:
        middle = (before + after) // 2
        if (low + middle * _SECOND).astimezone(tz).replace(tzinfo=None) >= wall:
            after = middle
        else:
            before = middle
    return low + after * _SECOND


def _next_after(moment: datetime, at: time, tz: ZoneInfo, weekdays: bool) -> datetime:
    """The first instant after ``moment`` at which a daily local time ``at`` comes round."""
    day = moment.astimezone(tz).date()
    while True:
        instant = _first_instant(day, at, tz)
        if instant > moment and (not weekdays or day.weekday() < 5):
            return instant
        day += _DAY


def _last_between(
    after: datetime, until: datetime, at: time, tz: ZoneInfo, weekdays: bool
) -> date | None:
    """The local date of the last time a daily local time ``at`` came round in (after, until]."""
    day = until.astimezone(tz).date()
    while (instant := _first_instant(day, at, tz)) > after:
        if instant <= until and (not weekdays or day.weekday() < 5):
            return day
        day -= _DAY
    return None


def _hh_mm(value: time) -> str:
    return value.strftime("%H:%M")


class Monitor:
    """One account's risk monitor: fed samples, it says which rules fire and whether new
    opening orders are refused."""

    __slots__ = ("_marks", "_next_event", "_next_roll", "_settings", "_state", "_stopped_rule")

    def __init__(
        self,
        settings: MonitorSettings,
        *,
        state: MonitorState | None = None,
        marks: Marks | None = None,
        stopped_rule: str | None = None,
    ) -> None:
        self._settings = settings
        self._marks = marks
        self._stopped_rule = stopped_rule
        if not settings.enabled:
            state = MonitorState.DISABLED
        elif state is None or state is MonitorState.DISABLED:
            state = self._enabled_state(current=True)
        self._state = state
        self._next_roll = self._next_event = _FAR
        self._plan()

    @property
    def settings(self) -> MonitorSettings:
        return self._settings

    @property
    def state(self) -> MonitorState:
        """The state as of the last sample (a session that has since opened is not seen yet)."""
        return self._state

    @property
    def marks(self) -> Marks | None:
        """The live marks, ``None`` before the first sample; journal them with ``to_wire``."""
        return self._marks

    @property
    def stopped_rule(self) -> str | None:
        """The rule that stopped the monitor (kept while it is disabled in the same session)."""
        return self._stopped_rule

    def observe(self, sample: Sample) -> list[Firing]:
        """Take a sample: roll the session if it has ended, move the watermarks, and return
        what fired (usually nothing)."""
        marks = self._marks
        if marks is None:
            marks = self._open_first(sample)
        elif sample.at >= self._next_roll:
            marks = self._roll(sample, marks)
        pnl = self.session_pnl(sample)
        if pnl > marks.pnl_high:
            marks.pnl_high = pnl
        if sample.net_liquidation > marks.netliq_high:
            marks.netliq_high = sample.net_liquidation
        firings: list[Firing] = []
        if self._state is MonitorState.ACTIVE:
            breach = self._breach(sample, pnl, marks)
            if breach is not None:
                self._state = MonitorState.STOPPED
                self._stopped_rule = breach.rule
                firings.append(breach)
        if sample.at >= self._next_event:
            firings.extend(self._timed(sample, marks))
        marks.last_realized = sample.realized
        marks.last_commission = sample.commission
        marks.last_flat = sample.flat
        if sample.at > marks.seen_until:
            marks.seen_until = sample.at
        return firings

    def configure(self, settings: MonitorSettings, at: datetime) -> None:
        """Apply new settings at ``at``: enabling makes the monitor ACTIVE (a stop from this
        session stays), disabling makes it DISABLED; changed rules are armed against the
        session's watermarks, and timed events already past ``at`` are not fired."""
        _aware(at, "at")
        current = self._marks is not None and at < self._next_roll
        old, self._settings = self._settings, settings
        marks = self._marks
        if marks is not None:
            enabling = settings.enabled and self._state is MonitorState.DISABLED
            self._arm(old, marks, everything=enabling)
            if at > marks.seen_until:
                marks.seen_until = at
        if not settings.enabled:
            self._state = MonitorState.DISABLED
        elif self._state is MonitorState.DISABLED:
            self._state = self._enabled_state(current)
        self._plan()

    def reset(self, at: datetime) -> None:
        """The user restarts a STOPPED monitor: ACTIVE again, marks kept."""
        _aware(at, "at")
        self._stopped_rule = None
        if self._state is MonitorState.STOPPED:
            self._state = MonitorState.ACTIVE
        if self._marks is not None and at > self._marks.seen_until:
            self._marks.seen_until = at

    def opening_blocked(self, at: datetime) -> str | None:
        """Why a new opening order must be refused at ``at``, or ``None`` if it may go."""
        if self._state is MonitorState.DISABLED:
            return None
        if self._state is MonitorState.STOPPED and at < self._next_roll:
            return f"stopped by {self._stopped_rule or 'a rule'}"
        settings = self._settings
        if settings.windows_apply:
            local = at.astimezone(settings.zone).time()
            if not any(w.enabled and w.contains(local) for w in settings.trading_windows):
                return "outside the account's trading windows"
        return None

    def session_pnl(self, sample: Sample) -> Decimal:
        """Realized P/L since the session opened, plus unrealized and less commission since
        the open as the settings say."""
        marks = self._marks
        settings = self._settings
        if marks is None:
            pnl = _ZERO
        else:
            pnl = sample.realized - marks.realized_start
            if settings.include_commission:
                pnl -= sample.commission - marks.commission_start
        if settings.include_unrealized:
            pnl += sample.unrealized
        return pnl

    def _enabled_state(self, current: bool) -> MonitorState:
        if self._stopped_rule is not None and current:
            return MonitorState.STOPPED
        self._stopped_rule = None
        carried = current and self._marks is not None and self._marks.carried
        return MonitorState.INACTIVE if carried else MonitorState.ACTIVE

    def _plan(self) -> None:
        """Cache the next session end and the next timed event as UTC instants."""
        marks = self._marks
        if marks is None:
            return
        settings = self._settings
        self._next_roll = _session_end(marks.session, settings.zone, settings.session_reset)
        self._next_event = self._event_after(marks.seen_until)

    def _event_after(self, moment: datetime) -> datetime:
        settings = self._settings
        tz = settings.zone
        events = [_next_after(moment, local, tz, weekdays) for local, weekdays in self._events()]
        return min(events, default=_FAR)

    def _events(self) -> list[tuple[time, bool]]:
        """The timed events as (local time, Mon-Fri only)."""
        settings = self._settings
        events = [(w.end, False) for w in settings.trading_windows if w.enabled and w.flatten_after]
        if settings.auto_flatten is not None:
            events.append((settings.auto_flatten, True))
        return events

    def _open_first(self, sample: Sample) -> Marks:
        settings = self._settings
        self._marks = marks = Marks(
            session=session_of(sample.at, settings.zone, settings.session_reset),
            realized_start=sample.realized,
            commission_start=sample.commission,
            pnl_high=self.session_pnl(sample),
            netliq_high=sample.net_liquidation,
            last_realized=sample.realized,
            last_commission=sample.commission,
            last_flat=sample.flat,
            seen_until=sample.at,
        )
        self._plan()
        return marks

    def _roll(self, sample: Sample, old: Marks) -> Marks:
        """Open the session holding ``sample`` from the state at the reset instant, which is
        the previous sample's (P/L changes only with fills, and every fill is sampled)."""
        settings = self._settings
        session = session_of(sample.at, settings.zone, settings.session_reset)
        carried = not old.last_flat
        self._marks = marks = replace(
            old,
            # A fall-back fold can read an earlier session after the reset instant.
            session=max(session, old.session + _DAY),
            realized_start=old.last_realized,
            commission_start=old.last_commission,
            pnl_high=_ZERO,
            netliq_high=sample.net_liquidation,
            carried=carried,
            loss_armed=True,
            profit_armed=True,
            mpd_watching=False,
            td_watching=False,
            td_high=_ZERO,
        )
        marks.pnl_high = self.session_pnl(sample)
        self._stopped_rule = None
        if self._state is not MonitorState.DISABLED:
            self._state = MonitorState.INACTIVE if carried else MonitorState.ACTIVE
        self._next_roll = _session_end(marks.session, settings.zone, settings.session_reset)
        return marks

    def _arm(self, old: MonitorSettings, marks: Marks, *, everything: bool) -> None:
        """Arm the rules that changed (or all) against the session so far."""
        new = self._settings
        if everything or new.loss_threshold != old.loss_threshold:
            marks.loss_armed = True
        if everything or new.profit_threshold != old.profit_threshold:
            marks.profit_armed = True
        if everything or new.min_profit_drawdown != old.min_profit_drawdown:
            mpd = new.min_profit_drawdown
            marks.mpd_watching = mpd is not None and marks.pnl_high >= mpd.trigger
        if everything or new.trailing_drawdown != old.trailing_drawdown:
            td = new.trailing_drawdown
            high = _ZERO if td is None else self._high(td, marks)
            marks.td_watching = td is not None and high >= td.trigger
            marks.td_high = high if marks.td_watching else _ZERO

    @staticmethod
    def _high(rule: TrailingDrawdown, marks: Marks) -> Decimal:
        return marks.pnl_high if rule.metric is TrailMetric.SESSION_PNL else marks.netliq_high

    def _breach(self, sample: Sample, pnl: Decimal, marks: Marks) -> Firing | None:
        return (
            self._loss(pnl, marks, sample.at)
            or self._profit(pnl, marks, sample.at)
            or self._min_profit(pnl, marks, sample.at)
            or self._trailing(sample, pnl, marks)
        )

    def _loss(self, pnl: Decimal, marks: Marks, at: datetime) -> Firing | None:
        limit = self._settings.loss_threshold
        if not limit:
            return None
        if pnl > -limit:
            marks.loss_armed = True
            return None
        if not marks.loss_armed:
            return None
        marks.loss_armed = False
        message = f"session P&L {pnl} reached the loss threshold {limit}"
        return Firing("lossThreshold", self._settings.action, True, message, at)

    def _profit(self, pnl: Decimal, marks: Marks, at: datetime) -> Firing | None:
        target = self._settings.profit_threshold
        if not target:
            return None
        if pnl < target:
            marks.profit_armed = True
            return None
        if not marks.profit_armed:
            return None
        marks.profit_armed = False
        message = f"session P&L {pnl} reached the profit threshold {target}"
        return Firing("profitThreshold", self._settings.action, True, message, at)

    def _min_profit(self, pnl: Decimal, marks: Marks, at: datetime) -> Firing | None:
        rule = self._settings.min_profit_drawdown
        if rule is None:
            return None
        if not marks.mpd_watching:
            marks.mpd_watching = pnl >= rule.trigger
            return None
        if pnl >= rule.floor:
            return None
        marks.mpd_watching = False
        message = (
            f"session P&L {pnl} fell below the floor {rule.floor}"
            f" after reaching the trigger {rule.trigger}"
        )
        return Firing("minProfitDrawdown", rule.action, True, message, at)

    def _trailing(self, sample: Sample, pnl: Decimal, marks: Marks) -> Firing | None:
        rule = self._settings.trailing_drawdown
        if rule is None:
            return None
        session = rule.metric is TrailMetric.SESSION_PNL
        metric = pnl if session else sample.net_liquidation
        if not marks.td_watching:
            if metric >= rule.trigger:
                marks.td_watching = True
                marks.td_high = metric
            return None
        if metric > marks.td_high:
            marks.td_high = metric
            return None
        high = marks.td_high
        stop = rule.stop(high)
        if metric >= stop:
            return None
        marks.td_watching = False
        marks.td_high = _ZERO
        name = "session P&L" if session else "net liquidation"
        unit = "%" if rule.unit is TrailUnit.PERCENT else ""
        message = f"{name} {metric} fell below {stop} (high {high}, trail {rule.trail}{unit})"
        return Firing("trailingDrawdown", rule.action, True, message, sample.at)

    def _timed(self, sample: Sample, marks: Marks) -> list[Firing]:
        """Fire the timed flattens that came round since the previous sample, if the account
        held a position then and the monitor is enabled and not stopped."""
        settings = self._settings
        tz = settings.zone
        after, at = marks.seen_until, sample.at
        self._next_event = self._event_after(at)
        live = self._state in (MonitorState.ACTIVE, MonitorState.INACTIVE)
        if not live or marks.last_flat:
            return []
        firings = []
        if settings.auto_flatten is not None:
            day = _last_between(after, at, settings.auto_flatten, tz, weekdays=True)
            if day is not None and day != marks.last_auto_flatten:
                marks.last_auto_flatten = day
                message = f"auto-flatten at {_hh_mm(settings.auto_flatten)} {tz.key} on {day}"
                firings.append(Firing("autoFlatten", Action.FLATTEN, False, message, at))
        ended = [
            w
            for w in settings.trading_windows
            if w.enabled
            and w.flatten_after
            and _last_between(after, at, w.end, tz, weekdays=False) is not None
        ]
        if ended:
            spans = ", ".join(f"{_hh_mm(w.start)}-{_hh_mm(w.end)}" for w in ended)
            message = f"trading window {spans} {tz.key} ended"
            firings.append(Firing("windowFlatten", Action.FLATTEN, False, message, at))
        return firings
