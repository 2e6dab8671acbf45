"""The grammar of a CrossTrade webhook body (spec ``crosstrade-webhooks.md`` §2, §5.14): text
or JSON into ``(name, value)`` pairs, and the body as the Alert History may show it.

Text: ``name=value;`` pairs on one line or many; the final ``;`` may be left out; names are
letters, digits and ``_`` in any case; values are trimmed and split from the name on the
first ``=``; whole lines starting with ``#`` or ``//`` are comments. JSON: an object whose
members are strings, numbers or booleans. Either way a name may appear only once."""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import Any

from ordergate.api.bodies import parse_json
from ordergate.api.crosstrade.webhook_fields import shown
from ordergate.api.crosstrade.webhook_model import AlertError
from ordergate.domain.errors import InvalidInput

__all__ = ["read_pairs", "redacted"]

_BOM = b"\xef\xbb\xbf"
_NAME = re.compile(r"[A-Za-z0-9_]+")
_LINE_BREAK = re.compile(r"\r\n|\r|\n")
_COMMENT = re.compile(r"\s*(?:#|//)")
# C0 and C1 controls but the tab: nothing could store or show them (PostgreSQL text has no NUL).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
_FORMAT = "Check message format"


def read_pairs(body: bytes, content_type: str | None) -> list[tuple[str, str]]:
    """The fields of ``body`` in order, names lower-cased and values trimmed; AlertError
    names the first that breaks the grammar. A body starting with ``{`` (or sent as JSON)
    is JSON, any other the text form."""
    body = body.removeprefix(_BOM)
    try:
        decoded = body.decode()
    except UnicodeDecodeError:
        raise AlertError(None, f"{_FORMAT}: the body is not UTF-8 text") from None
    if not decoded.strip():
        raise AlertError(None, f"{_FORMAT}: the message is empty")
    if decoded.lstrip().startswith("{") or _is_json(content_type):
        pairs = _json_pairs(body, decoded)
    else:
        pairs = _text_pairs(decoded)
    seen: set[str] = set()
    for name, _ in pairs:
        if name in seen:
            raise AlertError(name, f"{_FORMAT}: duplicate field {name}")
        seen.add(name)
    return pairs


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "").partition(";")[0].strip().lower()
    return media == "application/json" or media.endswith("+json")


def _text_pairs(decoded: str) -> list[tuple[str, str]]:
    # Comment lines become empty ones, so that line numbers in messages stay right.
    lines = ("" if _COMMENT.match(line) else line for line in _LINE_BREAK.split(decoded))
    payload = "\n".join(lines)
    pairs = []
    line = 1
    for part in payload.split(";"):
        first = line + part[: len(part) - len(part.lstrip())].count("\n")
        line += part.count("\n")
        if part.strip():
            pairs.append(_text_pair(part, first))
    return pairs


def _text_pair(part: str, line: int) -> tuple[str, str]:
    raw_name, equals, raw_value = part.partition("=")
    if not equals:
        raise AlertError(None, f"{_FORMAT}: line {line} has text that is not name=value;")
    name = _name(raw_name.strip(), f"on line {line} ")
    value = raw_value.strip()
    if "\n" in value:
        # No echo of the value: it may be the key.
        raise AlertError(
            name, f"{_FORMAT}: the value of {name} runs onto the next line; is a ';' missing?"
        )
    return name, _clean(name, value)


def _name(raw: str, where: str) -> str:
    if _NAME.fullmatch(raw) is not None:
        return raw.lower()
    if any(c.isspace() for c in raw):
        # Not echoed: a key typed with ' ' for '=' would show.
        raise AlertError(
            None, f"{_FORMAT}: a field name {where}holds a space (letters, digits and _ only)"
        )
    raise AlertError(
        None, f"{_FORMAT}: {shown(raw)} {where}is not a field name (letters, digits and _ only)"
    )


def _clean(name: str, value: str) -> str:
    if _CONTROL.search(value) is not None:
        raise AlertError(name, f"{_FORMAT}: {name} holds a control character")
    return value


def _json_pairs(body: bytes, decoded: str) -> list[tuple[str, str]]:
    try:
        data = parse_json(body)
    except InvalidInput as exc:
        raise AlertError(None, f"{_FORMAT}: {exc.message}") from None
    if not isinstance(data, dict):
        raise AlertError(None, f"{_FORMAT}: a JSON body must be an object of fields")
    # Parsed again as pairs, as a dict would hide a repeated name.
    members = json.loads(decoded, object_pairs_hook=list, parse_float=Decimal)
    pairs = []
    for raw_name, value in members:
        name = _name(raw_name, "")
        pairs.append((name, _clean(name, _json_text(name, value))))
    return pairs


def _json_text(name: str, value: Any) -> str:
    """A JSON member's value as the text form would carry it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        # Plain digits unless absurdly large or small: those stay refused as numbers.
        return f"{value:f}" if abs(value.adjusted()) <= 30 else str(value)
    if isinstance(value, str):
        return value.strip()
    raise AlertError(name, f"{_FORMAT}: {name} must be a string, a number or true/false")


# The value runs to ';' or the end of its line; blanks after '=' may hold a line break.
_TEXT_KEY = re.compile(r"(?<![A-Za-z0-9_])(key\s*=\s*)([^;\r\n]*)", re.IGNORECASE)
_JSON_MEMBER = re.compile(r'("(?:[^"\\]|\\.)*")(\s*:\s*)("(?:[^"\\]|\\.)*"|[^\s,}\]]+)')
_MIN_SECRET = 6


def redacted(body: bytes) -> str:
    """``body`` as text with the value of every ``key`` field replaced by ``***`` (text or
    JSON form, parseable or not), and any other copy of such a value too."""
    decoded = body.decode(errors="replace")
    secrets: set[str] = set()

    def json_member(found: re.Match[str]) -> str:
        if _json_string(found[1]).lower() != "key":
            return found[0]
        secrets.add(_json_string(found[3]) if found[3].startswith('"') else found[3])
        return f'{found[1]}{found[2]}"***"'

    def text_field(found: re.Match[str]) -> str:
        secret = found[2].rstrip()
        if not secret:
            return found[0]
        secrets.add(secret)
        return f"{found[1]}***{found[2][len(secret) :]}"

    decoded = _TEXT_KEY.sub(text_field, _JSON_MEMBER.sub(json_member, decoded))
    for secret in sorted(secrets, key=len, reverse=True):
        if len(secret) >= _MIN_SECRET:
            decoded = decoded.replace(secret, "***")
    return decoded


def _json_string(quoted: str) -> str:
    """A JSON string literal's text; the literal itself if it does not decode."""
    try:
        text = json.loads(quoted)
    except ValueError:
        return quoted
    return text if isinstance(text, str) else quoted
