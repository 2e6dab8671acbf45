"""The per-account risk monitor: settings in their wire form, sessions, rules and timed
flattens (spec section 9, Account Manager)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ordergate.domain.errors import InvalidInput
from ordergate.domain.monitor import (
    Action,
    Firing,
    Marks,
    MinProfitDrawdown,
    Monitor,
    MonitorSettings,
    MonitorState,
    Sample,
    TradingWindow,
    TrailingDrawdown,
    TrailMetric,
    TrailUnit,
    session_of,
)

D = Decimal
ET = ZoneInfo("US/Eastern")
#: Monday 2026-03-09, 10:00 New York (EDT).
MONDAY = datetime(2026, 3, 9, 14, tzinfo=UTC)


def et(year: int, month: int, day: int, hour: int, minute: int = 0, fold: int = 0) -> datetime:
    """A New York wall-clock time, as the aware UTC instant the engine would pass."""
    return datetime(year, month, day, hour, minute, tzinfo=ET, fold=fold).astimezone(UTC)


def sample(
    at: datetime,
    realized: object = 0,
    *,
    unrealized: object = 0,
    commission: object = 0,
    netliq: object = 50_000,
    flat: bool = False,
) -> Sample:
    return Sample(
        at, D(str(realized)), D(str(unrealized)), D(str(commission)), D(str(netliq)), flat
    )


def settings(**wire: object) -> MonitorSettings:
    return MonitorSettings.from_wire({"enabled": True, **wire})


def monitor(start: datetime = MONDAY, /, **wire: object) -> Monitor:
    """An enabled monitor that has seen a flat account at ``start`` with no P/L."""
    m = Monitor(settings(**wire))
    m.observe(sample(start, flat=True))
    return m


def rules(firings: list[Firing]) -> list[str]:
    return [f.rule for f in firings]


def state_of(m: Monitor) -> MonitorState:
    """The state, read afresh (a type checker would keep an earlier assert's narrowing)."""
    return m.state


def minutes(n: int) -> timedelta:
    return timedelta(minutes=n)


# Settings


FULL_WIRE: dict[str, object] = {
    "enabled": True,
    "lossThreshold": D("1000"),
    "profitThreshold": D("2500.50"),
    "action": "none",
    "includeUnrealized": True,
    "includeCommission": True,
    "minProfitDrawdown": {"trigger": D("500"), "floor": D("200"), "action": "flatten"},
    "trailingDrawdown": {
        "metric": "netLiquidation",
        "trigger": D("51000"),
        "trail": D("2.5"),
        "unit": "%",
        "action": "none",
    },
    "autoFlatten": "15:50",
    "tradingWindows": [
        {"enabled": True, "start": "09:30", "end": "11:00", "flattenAfter": True},
        {"enabled": False, "start": "22:00", "end": "02:00", "flattenAfter": False},
    ],
    "timeZone": "America/Chicago",
    "sessionReset": "17:00",
}


def test_from_wire_reads_every_field_and_to_wire_writes_the_same_form() -> None:
    parsed = MonitorSettings.from_wire(FULL_WIRE)
    assert parsed == MonitorSettings(
        enabled=True,
        loss_threshold=D("1000"),
        profit_threshold=D("2500.50"),
        action=Action.NONE,
        include_unrealized=True,
        include_commission=True,
        min_profit_drawdown=MinProfitDrawdown(D("500"), D("200"), Action.FLATTEN),
        trailing_drawdown=TrailingDrawdown(
            TrailMetric.NET_LIQUIDATION, D("51000"), D("2.5"), TrailUnit.PERCENT, Action.NONE
        ),
        auto_flatten=time(15, 50),
        trading_windows=(
            TradingWindow(time(9, 30), time(11), enabled=True, flatten_after=True),
            TradingWindow(time(22), time(2), enabled=False, flatten_after=False),
        ),
        time_zone="America/Chicago",
        session_reset=time(17),
    )
    assert parsed.to_wire() == FULL_WIRE


def test_missing_keys_take_the_defaults() -> None:
    defaults = MonitorSettings.from_wire({})
    assert defaults == MonitorSettings()
    assert defaults.enabled is False
    assert defaults.loss_threshold == 0
    assert defaults.action is Action.FLATTEN
    assert defaults.time_zone == "US/Eastern"
    assert defaults.session_reset == time(18)
    assert defaults.to_wire()["autoFlatten"] is None
    assert defaults.to_wire()["minProfitDrawdown"] is None


@pytest.mark.parametrize("number", [1000, "1000", D("1000"), "1000.00", " 1e3 "])
def test_amounts_may_arrive_as_int_string_or_decimal(number: object) -> None:
    assert MonitorSettings.from_wire({"lossThreshold": number}).loss_threshold == 1000


@pytest.mark.parametrize(
    ("wire", "field"),
    [
        ({"lossThreshold": True}, "lossThreshold"),
        ({"lossThreshold": -1}, "lossThreshold"),
        ({"lossThreshold": 1.5}, "lossThreshold"),
        ({"lossThreshold": "a lot"}, "lossThreshold"),
        ({"lossThreshold": None}, "lossThreshold"),
        ({"profitThreshold": "NaN"}, "profitThreshold"),
        ({"profitThreshold": D("Infinity")}, "profitThreshold"),
        ({"action": "close"}, "action"),
        ({"enabled": "yes"}, "enabled"),
        ({"includeUnrealized": 1}, "includeUnrealized"),
        ({"includeCommission": None}, "includeCommission"),
        ({"autoFlatten": "24:00"}, "autoFlatten"),
        ({"autoFlatten": "9:30"}, "autoFlatten"),
        ({"autoFlatten": "15:50:00"}, "autoFlatten"),
        ({"autoFlatten": 1550}, "autoFlatten"),
        ({"sessionReset": None}, "sessionReset"),
        ({"timeZone": "Mars/Olympus"}, "timeZone"),
        ({"timeZone": "../etc/passwd"}, "timeZone"),
        ({"timeZone": ""}, "timeZone"),
        ({"timeZone": 5}, "timeZone"),
        ({"tradingWindows": [{"start": "09:00", "end": "10:00"}] * 6}, "tradingWindows"),
        ({"tradingWindows": "09:30-16:00"}, "tradingWindows"),
        ({"tradingWindows": [None]}, "tradingWindows[0]"),
        ({"tradingWindows": [{"start": "09:30", "end": "09:30"}]}, "tradingWindows[0].end"),
        ({"tradingWindows": [{"start": "09:30"}]}, "tradingWindows[0].end"),
        (
            {"tradingWindows": [{"start": "09:30", "end": "10:00"}, {"start": "x", "end": "1"}]},
            "tradingWindows[1].start",
        ),
        (
            {"tradingWindows": [{"start": "09:30", "end": "10:00", "flat": 1}]},
            "tradingWindows[0].flat",
        ),
        ({"minProfitDrawdown": [500, 200]}, "minProfitDrawdown"),
        ({"minProfitDrawdown": {"trigger": 500}}, "minProfitDrawdown.floor"),
        ({"minProfitDrawdown": {"trigger": 500, "floor": 600}}, "minProfitDrawdown.floor"),
        ({"minProfitDrawdown": {"trigger": 0, "floor": 0}}, "minProfitDrawdown.trigger"),
        ({"minProfitDrawdown": {"trigger": 500, "floor": -1}}, "minProfitDrawdown.floor"),
        (
            {"minProfitDrawdown": {"trigger": 5, "floor": 1, "action": 1}},
            "minProfitDrawdown.action",
        ),
        ({"trailingDrawdown": {"trigger": 100, "trail": 40}}, "trailingDrawdown.metric"),
        (
            {"trailingDrawdown": {"metric": "equity", "trigger": 100, "trail": 40}},
            "trailingDrawdown.metric",
        ),
        (
            {"trailingDrawdown": {"metric": "sessionPnl", "trigger": 100, "trail": 0}},
            "trailingDrawdown.trail",
        ),
        (
            {"trailingDrawdown": {"metric": "sessionPnl", "trigger": 1, "trail": 101, "unit": "%"}},
            "trailingDrawdown.trail",
        ),
        (
            {"trailingDrawdown": {"metric": "sessionPnl", "trigger": 1, "trail": 1, "unit": "pct"}},
            "trailingDrawdown.unit",
        ),
        (
            {"trailingDrawdown": {"metric": "sessionPnl", "trigger": -1, "trail": 1}},
            "trailingDrawdown.trigger",
        ),
        (
            {"trailingDrawdown": {"metric": "sessionPnl", "trigger": 1, "trail": 1, "hwm": 5}},
            "trailingDrawdown.hwm",
        ),
        ({"lossThresold": 100}, "lossThresold"),
    ],
)
def test_from_wire_refuses_bad_settings_naming_the_field(
    wire: dict[str, object], field: str
) -> None:
    with pytest.raises(InvalidInput, match=re.escape(field)):
        MonitorSettings.from_wire(wire)


def test_from_wire_refuses_what_is_not_an_object() -> None:
    with pytest.raises(InvalidInput, match="settings must be an object"):
        MonitorSettings.from_wire([("enabled", True)])  # type: ignore[arg-type]


def test_settings_built_directly_are_validated_too() -> None:
    with pytest.raises(InvalidInput, match="lossThreshold"):
        MonitorSettings(loss_threshold=D(-5))
    with pytest.raises(InvalidInput, match="timeZone"):
        MonitorSettings(time_zone="Nowhere/Land")
    with pytest.raises(InvalidInput, match="autoFlatten"):
        MonitorSettings(auto_flatten=time(15, 50, 30))
    with pytest.raises(InvalidInput, match=r"tradingWindows\[0\]\.end"):
        MonitorSettings(trading_windows=(TradingWindow(time(9), time(9)),))
    with pytest.raises(InvalidInput, match=re.escape("trailingDrawdown.trail")):
        TrailingDrawdown(TrailMetric.SESSION_PNL, D(100), D(-40))


def test_merged_applies_only_the_keys_given_even_inside_a_rule() -> None:
    before = MonitorSettings.from_wire(FULL_WIRE)
    after = before.merged({"lossThreshold": "750", "minProfitDrawdown": {"floor": 300}})
    assert after.loss_threshold == 750
    assert after.min_profit_drawdown == MinProfitDrawdown(D(500), D(300))
    assert after.profit_threshold == before.profit_threshold
    assert after.trailing_drawdown == before.trailing_drawdown
    assert after.merged({"trailingDrawdown": None}).trailing_drawdown is None


def test_merged_validates_the_result() -> None:
    before = MonitorSettings.from_wire(FULL_WIRE)
    with pytest.raises(InvalidInput, match=re.escape("minProfitDrawdown.floor")):
        before.merged({"minProfitDrawdown": {"floor": 800}})


amounts = st.decimals(min_value=0, max_value=10**9, places=2)
hhmm = st.builds(time, st.integers(0, 23), st.integers(0, 59))


@st.composite
def monitor_settings(draw: st.DrawFn) -> MonitorSettings:
    trigger = draw(st.decimals(min_value=D("0.01"), max_value=10**6, places=2))
    windows = draw(
        st.lists(
            st.builds(TradingWindow, hhmm, hhmm, st.booleans(), st.booleans()).filter(
                lambda w: w.start != w.end
            ),
            max_size=5,
        )
    )
    return MonitorSettings(
        enabled=draw(st.booleans()),
        loss_threshold=draw(amounts),
        profit_threshold=draw(amounts),
        action=draw(st.sampled_from(Action)),
        include_unrealized=draw(st.booleans()),
        include_commission=draw(st.booleans()),
        min_profit_drawdown=draw(st.none() | st.just(MinProfitDrawdown(trigger, trigger / 2))),
        trailing_drawdown=draw(
            st.none()
            | st.builds(
                TrailingDrawdown,
                st.sampled_from(TrailMetric),
                amounts,
                st.decimals(min_value=D("0.01"), max_value=100, places=2),
                st.sampled_from(TrailUnit),
                st.sampled_from(Action),
            )
        ),
        auto_flatten=draw(st.none() | hhmm),
        trading_windows=tuple(windows),
        time_zone=draw(st.sampled_from(["US/Eastern", "America/Chicago", "Europe/London", "UTC"])),
        session_reset=draw(hhmm),
    )


@given(monitor_settings())
def test_settings_survive_their_wire_form(settings: MonitorSettings) -> None:
    assert MonitorSettings.from_wire(settings.to_wire()) == settings


# Sessions


def test_a_session_from_18_00_local_is_named_by_the_next_date() -> None:
    assert session_of(et(2026, 3, 9, 17, 59), ET, time(18)) == date(2026, 3, 9)
    assert session_of(et(2026, 3, 9, 18), ET, time(18)) == date(2026, 3, 10)
    assert session_of(et(2026, 3, 9, 23, 59), ET, time(18)) == date(2026, 3, 10)
    assert session_of(et(2026, 3, 10, 0, 1), ET, time(18)) == date(2026, 3, 10)


def test_a_session_reset_before_noon_names_the_session_by_its_own_date() -> None:
    assert session_of(et(2026, 3, 9, 9, 29), ET, time(9, 30)) == date(2026, 3, 8)
    assert session_of(et(2026, 3, 9, 9, 30), ET, time(9, 30)) == date(2026, 3, 9)


def test_session_of_refuses_a_naive_time() -> None:
    with pytest.raises(InvalidInput, match="timezone-aware"):
        session_of(datetime(2026, 3, 9, 12), ET, time(18))  # noqa: DTZ001


@pytest.mark.parametrize(
    ("sunday", "reset_utc"),
    [
        (date(2026, 3, 8), datetime(2026, 3, 8, 22, tzinfo=UTC)),  # EDT from 02:00 that day
        (date(2026, 11, 1), datetime(2026, 11, 1, 23, tzinfo=UTC)),  # EST from 02:00 that day
    ],
)
def test_the_session_rolls_at_18_00_new_york_time_on_the_dst_sundays(
    sunday: date, reset_utc: datetime
) -> None:
    m = monitor(reset_utc - timedelta(hours=8))
    m.observe(sample(reset_utc - timedelta(seconds=1), 100, flat=True))
    assert m.marks is not None
    assert m.marks.session == sunday
    m.observe(sample(reset_utc, 100, flat=True))
    assert m.marks.session == sunday + timedelta(days=1)
    assert m.session_pnl(sample(reset_utc, 130)) == 30


def test_a_session_reset_inside_the_spring_forward_gap_rolls_when_the_clock_jumps() -> None:
    # 02:30 does not exist on 2026-03-08 in New York: 01:59:59 EST is followed by 03:00 EDT.
    m = monitor(et(2026, 3, 7, 12), sessionReset="02:30")
    m.observe(sample(datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), flat=True))
    assert m.marks is not None
    assert m.marks.session == date(2026, 3, 7)
    m.observe(sample(datetime(2026, 3, 8, 7, tzinfo=UTC), flat=True))
    assert m.marks.session == date(2026, 3, 8)


def test_a_session_reset_inside_the_fall_back_fold_rolls_at_its_first_reading() -> None:
    m = monitor(et(2026, 10, 31, 12), sessionReset="01:30")
    m.observe(sample(et(2026, 11, 1, 1, 29), 10, flat=True))
    m.observe(sample(et(2026, 11, 1, 1, 30), 10, flat=True))  # 05:30 UTC, still EDT
    assert m.marks is not None
    assert m.marks.session == date(2026, 11, 1)
    m.observe(sample(et(2026, 11, 1, 1, 15, fold=1), 20, flat=True))  # 06:15 UTC, EST
    assert m.marks.session == date(2026, 11, 1)
    assert m.session_pnl(sample(et(2026, 11, 1, 1, 45, fold=1), 20)) == 10


def test_the_session_opens_from_the_previous_sample_so_the_first_fill_counts() -> None:
    m = monitor(et(2026, 3, 9, 15), includeCommission=True)
    m.observe(sample(et(2026, 3, 9, 16), 500, commission=10, flat=True))
    # The account is only sampled again at the evening's first fill, which paid commission.
    first = sample(et(2026, 3, 9, 19), 500, commission="12.5")
    m.observe(first)
    assert m.marks is not None
    assert (m.marks.realized_start, m.marks.commission_start) == (D(500), D(10))
    assert m.session_pnl(first) == D("-2.5")


def test_the_first_sample_opens_an_active_session_counting_from_it() -> None:
    m = Monitor(settings(lossThreshold=100, includeUnrealized=True))
    first = sample(MONDAY, 1000, unrealized=-40, commission=3)
    assert m.observe(first) == []
    assert m.state is MonitorState.ACTIVE
    assert m.session_pnl(first) == -40
    assert m.observe(sample(MONDAY + minutes(1), 950, unrealized=-10)) == []
    assert rules(m.observe(sample(MONDAY + minutes(2), 900, unrealized=-10))) == ["lossThreshold"]


def test_carrying_a_position_into_the_session_makes_the_monitor_inactive() -> None:
    m = monitor(et(2026, 3, 9, 15), lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 17, 59), 0))  # holds a position over 18:00
    assert m.observe(sample(et(2026, 3, 9, 18, 30), -500)) == []
    assert m.state is MonitorState.INACTIVE
    assert m.opening_blocked(et(2026, 3, 9, 18, 30)) is None


def test_an_inactive_monitor_still_enforces_trading_windows_and_auto_flatten() -> None:
    m = monitor(
        et(2026, 3, 9, 15),
        autoFlatten="15:50",
        tradingWindows=[{"start": "09:30", "end": "16:00"}],
    )
    m.observe(sample(et(2026, 3, 9, 17, 59), 0))
    m.observe(sample(et(2026, 3, 10, 15, 45), 0))
    assert m.state is MonitorState.INACTIVE
    assert m.opening_blocked(et(2026, 3, 10, 8)) == "outside the account's trading windows"
    assert rules(m.observe(sample(et(2026, 3, 10, 15, 50), 0))) == ["autoFlatten"]


def test_an_inactive_monitor_is_active_again_at_the_next_flat_session_open() -> None:
    m = monitor(et(2026, 3, 9, 15), lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 17, 59), 0))
    m.observe(sample(et(2026, 3, 9, 18, 1), 0))
    m.observe(sample(et(2026, 3, 10, 17, 59), 0))  # still holding at the next open
    m.observe(sample(et(2026, 3, 10, 18, 1), 0))
    assert m.state is MonitorState.INACTIVE
    m.observe(sample(et(2026, 3, 11, 10), 0, flat=True))
    m.observe(sample(et(2026, 3, 11, 18, 1), 0))
    assert state_of(m) is MonitorState.ACTIVE
    assert rules(m.observe(sample(et(2026, 3, 11, 19), -100))) == ["lossThreshold"]


def test_the_session_roll_restarts_a_stopped_monitor_and_its_watermarks() -> None:
    m = monitor(et(2026, 3, 9, 10), lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 11), -150))
    m.observe(sample(et(2026, 3, 9, 11, 1), -150, flat=True))
    assert m.state is MonitorState.STOPPED
    assert m.observe(sample(et(2026, 3, 9, 18, 5), -150)) == []
    assert state_of(m) is MonitorState.ACTIVE
    assert m.stopped_rule is None
    assert m.marks is not None
    assert m.marks.realized_start == -150
    assert rules(m.observe(sample(et(2026, 3, 9, 19), -250))) == ["lossThreshold"]


# The P/L rules


def test_session_pnl_is_realized_since_the_open_by_default() -> None:
    m = monitor()
    m.observe(sample(MONDAY + minutes(1), 200, unrealized=50, commission=9))
    assert m.session_pnl(sample(MONDAY + minutes(2), 300, unrealized=50, commission=9)) == 300


def test_include_unrealized_adds_the_open_pnl() -> None:
    m = monitor(includeUnrealized=True, lossThreshold=100)
    assert m.session_pnl(sample(MONDAY, 20, unrealized=-70)) == -50
    assert rules(m.observe(sample(MONDAY + minutes(1), 20, unrealized=-120))) == ["lossThreshold"]


def test_include_commission_subtracts_the_commission_paid_this_session() -> None:
    m = Monitor(settings(includeCommission=True, lossThreshold=100))
    m.observe(sample(MONDAY, 0, commission=400, flat=True))
    assert m.session_pnl(sample(MONDAY, -60, commission=430)) == -90
    assert m.observe(sample(MONDAY + minutes(1), -60, commission="439.99")) == []
    assert rules(m.observe(sample(MONDAY + minutes(2), -60, commission=440))) == ["lossThreshold"]


def test_the_loss_threshold_fires_once_at_the_breaching_pnl() -> None:
    m = monitor(lossThreshold=1000)
    assert m.observe(sample(MONDAY + minutes(1), "-999.99")) == []
    [firing] = m.observe(sample(MONDAY + minutes(2), "-1012.50"))
    assert firing == Firing(
        "lossThreshold",
        Action.FLATTEN,
        True,
        "session P&L -1012.50 reached the loss threshold 1000",
        MONDAY + minutes(2),
    )
    assert m.state is MonitorState.STOPPED
    assert m.stopped_rule == "lossThreshold"
    assert m.observe(sample(MONDAY + minutes(3), -2000)) == []


@given(
    threshold=st.decimals(min_value=1, max_value=5000, places=2),
    pnls=st.lists(st.decimals(min_value=-6000, max_value=6000, places=2), max_size=30),
)
def test_the_loss_threshold_fires_iff_pnl_reaches_minus_the_threshold_and_only_once(
    threshold: Decimal, pnls: list[Decimal]
) -> None:
    m = monitor(lossThreshold=threshold)
    fired_at = [i for i, pnl in enumerate(pnls) if m.observe(sample(MONDAY + minutes(i + 1), pnl))]
    breaches = [i for i, pnl in enumerate(pnls) if pnl <= -threshold]
    assert fired_at == breaches[:1]


def test_the_profit_threshold_fires_once_at_the_target() -> None:
    m = monitor(profitThreshold=1500)
    assert m.observe(sample(MONDAY + minutes(1), "1499.99")) == []
    [firing] = m.observe(sample(MONDAY + minutes(2), 1500))
    assert (firing.rule, firing.stops, firing.action) == ("profitThreshold", True, Action.FLATTEN)
    assert firing.message == "session P&L 1500 reached the profit threshold 1500"
    assert m.observe(sample(MONDAY + minutes(3), 1600)) == []


def test_a_zero_threshold_never_fires() -> None:
    m = monitor(lossThreshold=0, profitThreshold=0)
    assert m.observe(sample(MONDAY + minutes(1), -(10**6))) == []
    assert m.observe(sample(MONDAY + minutes(2), 10**6)) == []
    assert m.state is MonitorState.ACTIVE


def test_action_none_still_stops_the_monitor_and_blocks_openings() -> None:
    m = monitor(lossThreshold=100, action="none")
    [firing] = m.observe(sample(MONDAY + minutes(1), -100))
    assert (firing.action, firing.stops) == (Action.NONE, True)
    assert m.opening_blocked(MONDAY + minutes(2)) == "stopped by lossThreshold"


def test_after_reset_a_threshold_still_breached_waits_until_pnl_comes_back_inside() -> None:
    m = monitor(lossThreshold=100)
    m.observe(sample(MONDAY + minutes(1), -150))
    m.reset(MONDAY + minutes(2))
    assert m.observe(sample(MONDAY + minutes(3), -180)) == []
    assert m.observe(sample(MONDAY + minutes(4), -90)) == []
    assert rules(m.observe(sample(MONDAY + minutes(5), -100))) == ["lossThreshold"]


def test_min_profit_drawdown_watches_from_the_trigger_and_fires_below_the_floor() -> None:
    m = monitor(minProfitDrawdown={"trigger": 500, "floor": 200})
    assert m.observe(sample(MONDAY + minutes(1), 100)) == []  # below the floor, not watching
    assert m.observe(sample(MONDAY + minutes(2), 500)) == []
    assert m.marks is not None
    assert m.marks.mpd_watching
    assert m.observe(sample(MONDAY + minutes(3), 200)) == []
    [firing] = m.observe(sample(MONDAY + minutes(4), "199.99"))
    assert (firing.rule, firing.stops) == ("minProfitDrawdown", True)
    assert "199.99" in firing.message
    assert not m.marks.mpd_watching


def test_min_profit_drawdown_is_idle_again_after_firing() -> None:
    m = monitor(minProfitDrawdown={"trigger": 500, "floor": 200, "action": "none"})
    m.observe(sample(MONDAY + minutes(1), 600))
    m.observe(sample(MONDAY + minutes(2), 100))
    m.reset(MONDAY + minutes(3))
    assert m.observe(sample(MONDAY + minutes(4), 50)) == []
    m.observe(sample(MONDAY + minutes(5), 500))
    assert rules(m.observe(sample(MONDAY + minutes(6), 150))) == ["minProfitDrawdown"]


def test_trailing_drawdown_in_dollars_fires_below_the_high_less_the_trail() -> None:
    m = monitor(trailingDrawdown={"metric": "sessionPnl", "trigger": 100, "trail": 40, "unit": "$"})
    assert m.observe(sample(MONDAY + minutes(1), 99)) == []
    for i, pnl in enumerate([100, 250, 310, 280, 270]):
        assert m.observe(sample(MONDAY + minutes(2 + i), pnl)) == []
    [firing] = m.observe(sample(MONDAY + minutes(9), "269.99"))
    assert firing.rule == "trailingDrawdown"
    assert firing.message == "session P&L 269.99 fell below 270 (high 310, trail 40)"


def test_trailing_drawdown_in_percent_follows_the_faq_arithmetic() -> None:
    # FAQ: trigger $100, trail 95 %, high $125 -> stop at $6.25 (HWM - 95 % x HWM).
    m = monitor(trailingDrawdown={"metric": "sessionPnl", "trigger": 100, "trail": 95, "unit": "%"})
    for i, pnl in enumerate([100, 125, "6.25"]):
        assert m.observe(sample(MONDAY + minutes(1 + i), pnl)) == []
    [firing] = m.observe(sample(MONDAY + minutes(5), "6.24"))
    assert "fell below 6.25" in firing.message


def test_trailing_drawdown_can_trail_net_liquidation() -> None:
    m = monitor(
        trailingDrawdown={
            "metric": "netLiquidation",
            "trigger": 51000,
            "trail": 500,
            "action": "none",
        }
    )
    assert m.observe(sample(MONDAY + minutes(1), netliq=50900)) == []
    assert m.observe(sample(MONDAY + minutes(2), netliq=51200)) == []
    assert m.observe(sample(MONDAY + minutes(3), netliq=50700)) == []
    [firing] = m.observe(sample(MONDAY + minutes(4), netliq=50699))
    assert (firing.rule, firing.action) == ("trailingDrawdown", Action.NONE)
    assert firing.message.startswith("net liquidation 50699 fell below 50700")


def test_trailing_drawdown_is_idle_after_firing_until_the_trigger_is_reached_again() -> None:
    m = monitor(trailingDrawdown={"metric": "sessionPnl", "trigger": 100, "trail": 40})
    m.observe(sample(MONDAY + minutes(1), 150))
    m.observe(sample(MONDAY + minutes(2), 100))
    m.reset(MONDAY + minutes(3))
    assert m.observe(sample(MONDAY + minutes(4), 50)) == []
    m.observe(sample(MONDAY + minutes(5), 120))
    assert rules(m.observe(sample(MONDAY + minutes(6), 79))) == ["trailingDrawdown"]


def test_the_first_breach_stops_the_monitor_and_the_other_rules_wait() -> None:
    m = monitor(
        lossThreshold=100,
        trailingDrawdown={"metric": "sessionPnl", "trigger": 0, "trail": 50},
    )
    assert rules(m.observe(sample(MONDAY + minutes(1), -120))) == ["lossThreshold"]
    assert m.observe(sample(MONDAY + minutes(2), -130)) == []
    m.reset(MONDAY + minutes(3))
    assert rules(m.observe(sample(MONDAY + minutes(4), -130))) == ["trailingDrawdown"]


def test_a_stopped_monitor_blocks_openings_until_reset_or_the_next_session() -> None:
    m = monitor(et(2026, 3, 9, 10), lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 11), -100))
    m.observe(sample(et(2026, 3, 9, 11, 1), -100, flat=True))
    assert m.opening_blocked(et(2026, 3, 9, 17, 59)) == "stopped by lossThreshold"
    # A flat account is not sampled, but the stop ends with its session all the same.
    assert m.opening_blocked(et(2026, 3, 9, 18)) is None
    m.reset(et(2026, 3, 9, 12))
    assert m.state is MonitorState.ACTIVE
    assert m.opening_blocked(et(2026, 3, 9, 12)) is None


def test_reset_makes_a_stopped_monitor_active_and_keeps_the_marks() -> None:
    m = monitor(lossThreshold=100)
    m.observe(sample(MONDAY + minutes(1), -100))
    assert m.marks is not None
    kept = Marks.from_wire(m.marks.to_wire())
    m.reset(MONDAY + minutes(2))
    assert (m.state, m.stopped_rule) == (MonitorState.ACTIVE, None)
    assert m.marks.realized_start == kept.realized_start
    assert m.marks.pnl_high == kept.pnl_high


def test_a_disabled_monitor_evaluates_nothing_and_blocks_nothing() -> None:
    m = Monitor(
        MonitorSettings.from_wire(
            {
                "lossThreshold": 100,
                "autoFlatten": "15:50",
                "tradingWindows": [{"start": "09:30", "end": "16:00"}],
            }
        )
    )
    assert m.state is MonitorState.DISABLED
    m.observe(sample(et(2026, 3, 9, 15, 40), 0))
    assert m.observe(sample(et(2026, 3, 9, 16), -500)) == []
    assert m.opening_blocked(et(2026, 3, 9, 20)) is None


# Configure


def test_enabling_a_drawdown_rule_mid_session_evaluates_the_whole_days_pnl() -> None:
    m = monitor()
    m.observe(sample(MONDAY + minutes(1), 600))
    m.observe(sample(MONDAY + minutes(2), 300))
    m.configure(settings(minProfitDrawdown={"trigger": 500, "floor": 250}), MONDAY + minutes(3))
    assert rules(m.observe(sample(MONDAY + minutes(4), 240))) == ["minProfitDrawdown"]


def test_enabling_a_trailing_drawdown_mid_session_trails_the_days_high() -> None:
    m = monitor()
    m.observe(sample(MONDAY + minutes(1), 310))
    m.observe(sample(MONDAY + minutes(2), 280))
    m.configure(
        settings(trailingDrawdown={"metric": "sessionPnl", "trigger": 100, "trail": 40}),
        MONDAY + minutes(3),
    )
    assert rules(m.observe(sample(MONDAY + minutes(4), 269))) == ["trailingDrawdown"]


def test_lowering_the_loss_threshold_below_the_days_pnl_fires_at_the_next_sample() -> None:
    m = monitor(lossThreshold=1000)
    m.observe(sample(MONDAY + minutes(1), -600))
    m.configure(settings(lossThreshold=500), MONDAY + minutes(2))
    assert rules(m.observe(sample(MONDAY + minutes(3), -600))) == ["lossThreshold"]


def test_disabling_makes_the_monitor_disabled_and_enabling_active_again() -> None:
    m = monitor(lossThreshold=100)
    m.configure(MonitorSettings(), MONDAY + minutes(1))
    assert m.state is MonitorState.DISABLED
    assert m.observe(sample(MONDAY + minutes(2), -500)) == []
    m.configure(settings(lossThreshold=100), MONDAY + minutes(3))
    assert state_of(m) is MonitorState.ACTIVE
    assert rules(m.observe(sample(MONDAY + minutes(4), -500))) == ["lossThreshold"]


def test_editing_a_stopped_monitor_keeps_it_stopped() -> None:
    m = monitor(lossThreshold=100)
    m.observe(sample(MONDAY + minutes(1), -100))
    m.configure(settings(lossThreshold=200), MONDAY + minutes(2))
    assert m.state is MonitorState.STOPPED


def test_a_stop_survives_disabling_and_enabling_in_the_same_session() -> None:
    m = monitor(et(2026, 3, 9, 10), lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 11), -100))
    m.configure(settings(enabled=False, lossThreshold=100), et(2026, 3, 9, 12))
    assert m.opening_blocked(et(2026, 3, 9, 12)) is None
    m.configure(settings(lossThreshold=100), et(2026, 3, 9, 13))
    assert (m.state, m.stopped_rule) == (MonitorState.STOPPED, "lossThreshold")
    m.configure(settings(enabled=False, lossThreshold=100), et(2026, 3, 9, 14))
    m.configure(settings(lossThreshold=100), et(2026, 3, 9, 19))  # the next session
    assert (m.state, m.stopped_rule) == (MonitorState.ACTIVE, None)


def test_configure_and_reset_refuse_a_naive_time() -> None:
    m = monitor()
    with pytest.raises(InvalidInput, match="timezone-aware"):
        m.configure(settings(), datetime(2026, 3, 9, 12))  # noqa: DTZ001
    with pytest.raises(InvalidInput, match="timezone-aware"):
        m.reset(datetime(2026, 3, 9, 12))  # noqa: DTZ001


# Timed flattens


def test_auto_flatten_fires_once_when_its_time_passes_on_a_weekday() -> None:
    m = monitor(et(2026, 3, 9, 15), autoFlatten="15:50")
    m.observe(sample(et(2026, 3, 9, 15, 49), 0))
    [firing] = m.observe(sample(et(2026, 3, 9, 15, 50), 0))
    assert firing == Firing(
        "autoFlatten",
        Action.FLATTEN,
        False,
        "auto-flatten at 15:50 US/Eastern on 2026-03-09",
        et(2026, 3, 9, 15, 50),
    )
    assert m.state is MonitorState.ACTIVE
    assert m.observe(sample(et(2026, 3, 9, 15, 51), 0)) == []
    assert m.observe(sample(et(2026, 3, 9, 17), 0)) == []
    assert rules(m.observe(sample(et(2026, 3, 10, 15, 50), 0))) == ["autoFlatten"]


def test_auto_flatten_skips_the_weekend() -> None:
    m = monitor(et(2026, 3, 13, 15), autoFlatten="15:50")  # a Friday
    m.observe(sample(et(2026, 3, 13, 15, 1), 0))
    assert rules(m.observe(sample(et(2026, 3, 13, 16), 0))) == ["autoFlatten"]
    assert m.observe(sample(et(2026, 3, 14, 16), 0)) == []
    assert m.observe(sample(et(2026, 3, 15, 16), 0)) == []
    assert rules(m.observe(sample(et(2026, 3, 16, 16), 0))) == ["autoFlatten"]


def test_auto_flatten_keeps_new_york_time_across_the_dst_change() -> None:
    m = monitor(et(2026, 10, 30, 15), autoFlatten="15:50")  # Friday, EDT
    m.observe(sample(datetime(2026, 10, 30, 19, 49, tzinfo=UTC), 0))
    assert rules(m.observe(sample(datetime(2026, 10, 30, 19, 50, tzinfo=UTC), 0))) == [
        "autoFlatten"
    ]
    m.observe(sample(datetime(2026, 11, 2, 20, 49, tzinfo=UTC), 0))  # Monday, EST
    assert rules(m.observe(sample(datetime(2026, 11, 2, 20, 50, tzinfo=UTC), 0))) == ["autoFlatten"]


def test_auto_flatten_does_not_fire_while_stopped() -> None:
    m = monitor(et(2026, 3, 9, 15), autoFlatten="15:50", lossThreshold=100)
    m.observe(sample(et(2026, 3, 9, 15, 40), -100))
    assert m.observe(sample(et(2026, 3, 9, 15, 55), -100)) == []
    m.reset(et(2026, 3, 9, 16))
    assert m.observe(sample(et(2026, 3, 9, 16, 5), -100)) == []


def test_auto_flatten_skips_a_day_the_account_was_flat_at_the_time() -> None:
    m = monitor(et(2026, 3, 9, 15), autoFlatten="15:50")
    m.observe(sample(et(2026, 3, 9, 15, 30), 0, flat=True))
    assert m.observe(sample(et(2026, 3, 9, 16, 30), 0)) == []  # opened after 15:50


def test_auto_flatten_catches_up_when_the_position_was_not_sampled_at_the_time() -> None:
    m = monitor(et(2026, 3, 9, 15), autoFlatten="15:50")
    m.observe(sample(et(2026, 3, 9, 15, 30), 0))
    assert rules(m.observe(sample(et(2026, 3, 9, 19), 0))) == ["autoFlatten"]


def test_auto_flatten_set_after_its_time_starts_the_next_weekday() -> None:
    m = monitor(et(2026, 3, 9, 15))
    m.observe(sample(et(2026, 3, 9, 15, 59), 0))
    m.configure(settings(autoFlatten="15:50"), et(2026, 3, 9, 16))
    assert m.observe(sample(et(2026, 3, 9, 16, 1), 0)) == []
    assert rules(m.observe(sample(et(2026, 3, 10, 15, 50), 0))) == ["autoFlatten"]


def test_openings_are_blocked_outside_every_enabled_window() -> None:
    m = monitor(
        tradingWindows=[
            {"start": "09:30", "end": "11:00"},
            {"start": "13:00", "end": "15:00"},
            {"enabled": False, "start": "11:00", "end": "13:00"},
        ]
    )
    outside = "outside the account's trading windows"
    assert m.opening_blocked(et(2026, 3, 9, 9, 29)) == outside
    assert m.opening_blocked(et(2026, 3, 9, 9, 30)) is None
    assert m.opening_blocked(et(2026, 3, 9, 12)) == outside
    assert m.opening_blocked(et(2026, 3, 9, 14, 59)) is None
    assert m.opening_blocked(et(2026, 3, 9, 15)) == outside


def test_a_window_that_wraps_midnight_is_open_on_both_sides() -> None:
    m = monitor(tradingWindows=[{"start": "22:00", "end": "02:00"}])
    assert m.opening_blocked(et(2026, 3, 9, 21, 59)) is not None
    assert m.opening_blocked(et(2026, 3, 9, 23)) is None
    assert m.opening_blocked(et(2026, 3, 10, 1, 59)) is None
    assert m.opening_blocked(et(2026, 3, 10, 2)) is not None


def test_windows_restrict_nothing_when_none_is_enabled() -> None:
    m = monitor(tradingWindows=[{"enabled": False, "start": "09:30", "end": "11:00"}])
    assert m.opening_blocked(et(2026, 3, 9, 20)) is None


def test_window_flatten_after_fires_once_when_the_window_ends() -> None:
    m = monitor(
        et(2026, 3, 9, 10),
        tradingWindows=[
            {"start": "09:30", "end": "11:00", "flattenAfter": True},
            {"start": "13:00", "end": "15:00"},
        ],
    )
    assert m.observe(sample(et(2026, 3, 9, 10, 59), 0)) == []
    [firing] = m.observe(sample(et(2026, 3, 9, 11), 0))
    assert (firing.rule, firing.action, firing.stops) == ("windowFlatten", Action.FLATTEN, False)
    assert firing.message == "trading window 09:30-11:00 US/Eastern ended"
    assert m.observe(sample(et(2026, 3, 9, 11, 1), 0)) == []
    assert m.observe(sample(et(2026, 3, 9, 15, 1), 0)) == []  # no flatten after the second


def test_window_flatten_across_midnight_fires_when_it_ends_the_next_day() -> None:
    m = monitor(
        et(2026, 3, 9, 21),
        tradingWindows=[{"start": "22:00", "end": "02:00", "flattenAfter": True}],
    )
    assert m.observe(sample(et(2026, 3, 9, 23, 59), 0)) == []
    assert m.observe(sample(et(2026, 3, 10, 1, 59), 0)) == []
    assert rules(m.observe(sample(et(2026, 3, 10, 2), 0))) == ["windowFlatten"]


def test_a_window_ending_in_the_spring_forward_gap_flattens_when_the_clock_jumps() -> None:
    # 2026-03-08: New York goes from 01:59:59 EST to 03:00 EDT (07:00 UTC).
    m = monitor(
        et(2026, 3, 7, 21),
        tradingWindows=[{"start": "22:00", "end": "02:30", "flattenAfter": True}],
    )
    assert m.observe(sample(datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC), 0)) == []
    assert m.opening_blocked(datetime(2026, 3, 8, 6, 59, 59, tzinfo=UTC)) is None
    assert rules(m.observe(sample(datetime(2026, 3, 8, 7, tzinfo=UTC), 0))) == ["windowFlatten"]
    assert m.opening_blocked(datetime(2026, 3, 8, 7, tzinfo=UTC)) is not None


def test_a_window_ending_in_the_fall_back_fold_flattens_at_its_first_reading_only() -> None:
    # 2026-11-01: 01:30 New York is 05:30 UTC (EDT) and again 06:30 UTC (EST).
    m = monitor(
        et(2026, 10, 31, 21),
        tradingWindows=[{"start": "22:00", "end": "01:30", "flattenAfter": True}],
    )
    assert m.observe(sample(datetime(2026, 11, 1, 5, 29, tzinfo=UTC), 0)) == []
    assert rules(m.observe(sample(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), 0))) == [
        "windowFlatten"
    ]
    assert m.observe(sample(datetime(2026, 11, 1, 6, 30, tzinfo=UTC), 0)) == []


# Journal


def test_marks_survive_their_wire_form() -> None:
    m = monitor(
        et(2026, 3, 9, 15),
        autoFlatten="15:50",
        minProfitDrawdown={"trigger": 500, "floor": 200},
        trailingDrawdown={"metric": "sessionPnl", "trigger": 100, "trail": 40},
    )
    m.observe(sample(et(2026, 3, 9, 15, 40), "612.25", commission="4.10"))
    m.observe(sample(et(2026, 3, 9, 15, 55), "600", commission="4.10"))
    assert m.marks is not None
    wire = m.marks.to_wire()
    assert all(value is None or isinstance(value, str | bool) for value in wire.values())
    assert wire["last_auto_flatten"] == "2026-03-09"
    assert Marks.from_wire(wire) == m.marks


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"session": None}, "marks.session"),
        ({"pnl_high": "lots"}, "marks.pnl_high"),
        ({"td_high": "NaN"}, "marks.td_high"),
        ({"seen_until": "2026-03-09T12:00:00"}, "marks.seen_until"),
        ({"carried": "no"}, "marks.carried"),
        ({"colour": "red"}, "marks.colour"),
    ],
)
def test_marks_from_wire_refuses_a_malformed_record(change: dict[str, object], field: str) -> None:
    m = monitor()
    assert m.marks is not None
    with pytest.raises(InvalidInput, match=re.escape(field)):
        Marks.from_wire({**m.marks.to_wire(), **change})


def test_marks_from_wire_names_a_missing_field() -> None:
    m = monitor()
    assert m.marks is not None
    wire = m.marks.to_wire()
    del wire["realized_start"]
    with pytest.raises(InvalidInput, match=re.escape("marks.realized_start")):
        Marks.from_wire(wire)


def test_a_monitor_rebuilt_from_its_journal_carries_on_where_it_was() -> None:
    wire = {
        "lossThreshold": 100,
        "trailingDrawdown": {"metric": "sessionPnl", "trigger": 100, "trail": 40},
    }
    m = monitor(**wire)
    m.observe(sample(MONDAY + minutes(1), 300))
    m.observe(sample(MONDAY + minutes(2), -100))
    assert m.marks is not None
    journal = (m.settings.to_wire(), m.state.value, m.stopped_rule, m.marks.to_wire())
    again = Monitor(
        MonitorSettings.from_wire(journal[0]),
        state=MonitorState(journal[1]),
        stopped_rule=journal[2],
        marks=Marks.from_wire(journal[3]),
    )
    assert (again.state, again.stopped_rule) == (MonitorState.STOPPED, "lossThreshold")
    assert again.opening_blocked(MONDAY + minutes(3)) == "stopped by lossThreshold"
    again.reset(MONDAY + minutes(4))
    assert rules(again.observe(sample(MONDAY + minutes(5), -100))) == ["trailingDrawdown"]
