"""One writer per database: what a second server meets."""

from __future__ import annotations

__all__ = ["JournalLocked"]


class JournalLocked(RuntimeError):
    """Another ordergate server writes to this database."""
