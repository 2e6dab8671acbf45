"""The ``ordergate`` command: serve, init, and the administration of users, accounts, tokens,
instruments and webhook URLs. Every command builds its pieces through ``bootstrap``; refusals
print one line and exit with status 1."""

from __future__ import annotations

from typing import Annotated

import typer

from ordergate import __version__
from ordergate.cli import admin, risk, server

__all__ = ["app", "main"]

app = typer.Typer(
    name="ordergate",
    help="ordergate: order management with a simulated exchange.",
    no_args_is_help=True,
    add_completion=False,
    # Plain tracebacks for bugs: the rich ones print local variables, passwords included.
    pretty_exceptions_enable=False,
)
app.command()(admin.needs_database(server.serve))
app.command()(server.init)
app.command()(admin.reset)
app.add_typer(admin.user_app, name="user")
app.add_typer(admin.account_app, name="account")
app.add_typer(admin.token_app, name="token")
app.add_typer(admin.instrument_app, name="instrument")
app.add_typer(admin.webhook_app, name="webhook")
app.add_typer(risk.monitor_app, name="monitor")
app.add_typer(risk.killswitch_app, name="killswitch")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ordergate {__version__}")
        raise typer.Exit


@app.callback()
def _root(
    version: Annotated[
        bool | None,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = None,
) -> None:
    """ordergate: order management with a simulated exchange."""


def main() -> None:
    """The console script."""
    app(prog_name="ordergate")
