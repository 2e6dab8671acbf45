"""Settings from the environment (``ORDERGATE_*``), read once by the composition root."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["LogLevel", "Settings", "database_url"]

LogLevel = Literal["critical", "error", "warning", "info", "debug"]


class Settings(BaseSettings):
    """Everything an ordergate process is configured with. Each field is read from the
    environment variable ``ORDERGATE_<FIELD>`` (e.g. ``ORDERGATE_DATABASE_URL``)."""

    model_config = SettingsConfigDict(env_prefix="ORDERGATE_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///ordergate.db",
        description=(
            "SQLAlchemy database URL. Plain sqlite:///path and postgresql://… are mapped to "
            "the async drivers (aiosqlite, asyncpg). The default is a SQLite file in the "
            "working directory, created on first start."
        ),
    )
    secret: SecretStr | None = Field(
        default=None,
        description=(
            "Secret that signs ScaleTrade session JWTs (at least 32 characters). When unset, "
            "one is generated on first start and kept in the database, so every process "
            "sharing the database agrees on it. Never logged."
        ),
    )
    sim_ack_delay_ms: int = Field(
        default=0,
        ge=0,
        description=(
            "How long the simulated venue takes to acknowledge a new order, a change or a "
            "cancel, in milliseconds. Above 0, orders can be seen in submitted, "
            "pending_change and pending_cancel, as against a real exchange."
        ),
    )
    host: str = Field(default="127.0.0.1", description="Interface `ordergate serve` binds to.")
    port: int = Field(
        default=8000, ge=0, le=65535, description="Port `ordergate serve` listens on."
    )
    jwt_ttl_minutes: int = Field(
        default=480, ge=1, description="Lifetime of a ScaleTrade session JWT, in minutes."
    )
    log_level: LogLevel = Field(default="info", description="Log level of the server.")

    @field_validator("log_level", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        # People write INFO as often as info; both mean the same.
        return value.lower() if isinstance(value, str) else value


def database_url(raw: str) -> str:
    """A database URL from ``raw``: a URL as it is, anything else a SQLite file path."""
    return raw if "://" in raw else f"sqlite:///{raw}"
