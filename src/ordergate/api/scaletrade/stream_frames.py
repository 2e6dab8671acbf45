"""The frames a ScaleTrade stream client sends, read and checked, and the JSON objects the
server answers them with (the event arrays are in stream_events.py).

Replies to a frame the server understood name its event, ``{"event": "subscribe",
"success": true, ...}``, or say why not, ``{"event": "subscribe", "success": false,
"error": "INVALID_DATA", "message": "..."}``; a frame that names no event the server knows
is answered ``{"event": "error", "error": CODE, "message": "..."}``.
"""

from __future__ import annotations

from typing import Any, Final

from ordergate.domain.errors import InvalidInput

__all__ = [
    "AUTHORIZATION",
    "EVENTS",
    "MAX_SYMBOL_CHARS",
    "MAX_TOKEN_CHARS",
    "SWITCH",
    "bare_token",
    "error",
    "failure",
    "reply",
    "switch_login",
    "symbols",
]

AUTHORIZATION: Final = "authorization"
SWITCH: Final = "account.switch"
#: The events a client sends once authorized.
EVENTS: Final = (SWITCH, "subscribe", "unsubscribe")
MAX_TOKEN_CHARS: Final = 4096
MAX_SYMBOL_CHARS: Final = 32
_MAX_LOGIN = 2**63 - 1
_LOGIN_KEYS = ("active_login", "login")

Frame = dict[str, Any]


def reply(event: str, **fields: Any) -> Frame:
    """The success reply to ``event``."""
    return {"event": event, "success": True, **fields}


def failure(event: str, code: str, message: str) -> Frame:
    """The refusal of ``event``: a ScaleTrade error code and what went wrong."""
    return {"event": event, "success": False, "error": code, "message": message}


def error(code: str, message: str) -> Frame:
    """The answer to a frame that names no event the server could act on."""
    return {"event": "error", "error": code, "message": message}


def bare_token(value: object) -> str:
    """The JWT an authorization frame carries (a ``Bearer `` prefix is accepted, as in the
    REST ``Authorization`` header)."""
    if not isinstance(value, str) or not value.strip() or len(value) > MAX_TOKEN_CHARS:
        raise InvalidInput("authorization must be the __token from POST /sign/in")
    scheme, _, rest = value.strip().partition(" ")
    return rest.strip() if scheme.casefold() == "bearer" and rest.strip() else value.strip()


def _login(value: object, key: str) -> int:
    # bool is an int to Python but not a login.
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_LOGIN:
        raise InvalidInput(f"{key} must be an account login (a non-negative integer)")
    return value


def switch_login(frame: Frame) -> int | None:
    """The login an ``account.switch`` selects: ``active_login`` (or its alias ``login``) at
    the top or under ``data``; None when it names none."""
    data = frame.get("data")
    places = [frame]
    if isinstance(data, dict):
        places.append(data)
    elif data is not None:
        raise InvalidInput('data must be an object, {"active_login": N}')
    for place in places:
        for key in _LOGIN_KEYS:
            if place.get(key) is not None:
                return _login(place[key], key)
    return None


def symbols(frame: Frame, limit: int, *, required: bool) -> list[str]:
    """The symbol names of a ``subscribe``/``unsubscribe`` frame's ``data``, in order, each
    once (an absent or empty list: none, if not ``required``)."""
    data = frame.get("data")
    if data is None or data == []:
        if required:
            raise InvalidInput('data must list the symbols, e.g. ["EURUSD"]')
        return []
    if not isinstance(data, list) or len(data) > limit:
        raise InvalidInput(f"data must be a list of at most {limit} symbols")
    for name in data:
        if not isinstance(name, str) or not 0 < len(name) <= MAX_SYMBOL_CHARS:
            raise InvalidInput(f"each symbol must be a name of 1 to {MAX_SYMBOL_CHARS} characters")
    return list(dict.fromkeys(data))
