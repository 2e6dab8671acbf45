"""What every ``ordergate`` command shares: the --db and --json options, settings, running
async work with refusals turned into one-line errors, and parsing of numbers and sessions."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import ValidationError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from ordergate.bootstrap import Administration, administration, close_administration
from ordergate.domain.errors import DomainError, InvalidInput
from ordergate.domain.instruments import TradingSession
from ordergate.domain.values import to_decimal
from ordergate.settings import Settings, database_url
from ordergate.store import JournalLocked, normalize_url

__all__ = [
    "AsJson",
    "CliError",
    "Db",
    "emit",
    "fail",
    "load_settings",
    "opened",
    "parse_currency",
    "parse_decimal",
    "parse_session",
    "run",
    "session_json",
    "session_text",
    "shown_url",
]

T = TypeVar("T")

Db = Annotated[
    str | None,
    typer.Option(
        "--db",
        help="Database file path or URL; overrides ORDERGATE_DATABASE_URL.",
        show_default=False,
    ),
]
AsJson = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]

_CURRENCY = re.compile(r"[A-Z]{3}")
_SESSION = re.compile(
    r"\s*(?P<days>[0-6,\s-]+?)\s+(?P<start>\d\d:\d\d)\s*-\s*(?P<end>\d\d:\d\d)\s*"
)


class CliError(Exception):
    """A refusal of the command line itself (bad settings, database already there)."""

    code = "CLI_ERROR"


def fail(as_json: bool, code: str, message: str) -> NoReturn:
    """One line on stderr (a JSON object with --json), then exit status 1."""
    line = json.dumps({"error": code, "message": message}) if as_json else f"error: {message}"
    typer.echo(line, err=True)
    raise typer.Exit(1)


def emit(as_json: bool, data: dict[str, Any], text: str) -> None:
    """The result on stdout: ``data`` as JSON with --json (Decimals as strings), else ``text``."""
    typer.echo(json.dumps(data, default=str, indent=2) if as_json else text)


def load_settings(db: str | None, **overrides: object) -> Settings:
    """The environment's settings, with ``--db`` and the other given options on top."""
    if db is not None:
        overrides["database_url"] = database_url(db)
    given = {name: value for name, value in overrides.items() if value is not None}
    try:
        # Keyword arguments win over the environment, and are validated like it.
        settings = Settings(**given)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc']))} (ORDERGATE_{str(e['loc'][0]).upper()}): {e['msg']}"
            for e in exc.errors()
        )
        raise CliError(f"bad setting: {problems}") from None
    try:
        url = normalize_url(settings.database_url)
    except (ValueError, ArgumentError) as exc:
        raise CliError(f"bad database URL {settings.database_url!r}: {exc}") from None
    if url.drivername.startswith("sqlite") and url.database not in (None, "", ":memory:"):
        folder = Path(url.database).parent
        if not folder.is_dir():
            # Said here: SQLite's own "unable to open database file" does not say why.
            raise CliError(f"cannot create database {url.database}: no directory {folder}")
    return settings


def shown_url(url: str) -> str:
    """``url`` without its password, for printing."""
    return make_url(url).render_as_string(hide_password=True)


def run(as_json: bool, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work``; a refusal becomes one line on stderr and exit status 1."""

    async def call() -> T:
        return await work()

    try:
        return asyncio.run(call())
    except (DomainError, CliError) as exc:
        fail(as_json, exc.code, str(exc))
    except JournalLocked as exc:
        fail(as_json, "DATABASE_IN_USE", str(exc))
    except (OSError, SQLAlchemyError) as exc:
        cause = getattr(exc, "orig", None) or exc
        first = (str(cause).splitlines() or [type(cause).__name__])[0]
        fail(as_json, "DATABASE_ERROR", f"database error: {first}")


@asynccontextmanager
async def opened(settings: Settings) -> AsyncIterator[Administration]:
    """The database and users for an administration command (nothing trades in a command
    line process), closed at exit."""
    admin = await administration(settings)
    try:
        yield admin
    finally:
        await close_administration(admin)


#: Stored numbers are 64-bit integers of 10**-8 (store/types.py): about 9.2e10 at most.
_LARGEST = Decimal(10) ** 10


def parse_decimal(raw: str, option: str) -> Decimal:
    """An exact number from the command line (never through float)."""
    value = to_decimal(raw, option)
    if abs(value) >= _LARGEST:
        raise InvalidInput(f"{option} is too large: {raw!r}")
    return value


def parse_currency(raw: str) -> str:
    currency = raw.strip().upper()
    if not _CURRENCY.fullmatch(currency):
        raise InvalidInput(f"--currency must be a three-letter code such as USD, got {raw!r}")
    return currency


def _days(raw: str) -> frozenset[int]:
    days: set[int] = set()
    for part in filter(None, (p.strip() for p in raw.split(","))):
        first, _, last = part.partition("-")
        if not first.isdigit() or (last and not last.isdigit()):
            raise InvalidInput(f"bad session days {raw!r}")
        days.update(range(int(first), int(last or first) + 1))
    return frozenset(days)


def parse_session(raw: str) -> TradingSession:
    """``"0,1,2,3,4 23:00-22:00"`` (or ``"6,0-3 23:00-22:00"``): Python weekday numbers
    (0 = Monday) and a UTC window; an end before the start runs past midnight."""
    match = _SESSION.fullmatch(raw)
    if match is None:
        raise InvalidInput(f"--session must look like '0,1,2,3,4 23:00-22:00', got {raw!r}")
    try:
        start, end = time.fromisoformat(match["start"]), time.fromisoformat(match["end"])
    except ValueError:
        raise InvalidInput(f"bad session time in {raw!r}") from None
    return TradingSession(_days(match["days"]), start, end)


def session_json(s: TradingSession) -> dict[str, Any]:
    return {
        "days": sorted(s.days),
        "start": s.start.strftime("%H:%M"),
        "end": s.end.strftime("%H:%M"),
    }


def session_text(s: TradingSession) -> str:
    days = ",".join(str(d) for d in sorted(s.days))
    return f"{days} {s.start.strftime('%H:%M')}-{s.end.strftime('%H:%M')}"
