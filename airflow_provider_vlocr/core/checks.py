"""Checking call arguments that may come from templates or data: typed errors that name argument and value."""

from __future__ import annotations

from typing import Any

from ..licence.schema import SIDES
from .errors import ConfigurationError

MAX_LABEL_CHARS = 512


def label_of(value: str) -> str:
    """How a string item is named in records and messages: itself, unless it is a ``data:`` URI or huge
    (input content is never echoed)."""
    if value[:5].lower() == "data:":
        return f"<data: URI of {len(value)} characters>"
    if len(value) > MAX_LABEL_CHARS:
        return f"<string of {len(value)} characters>"
    return value


TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")


def shown(value: Any, limit: int = 60) -> str:
    """``repr`` of a value for a message, cut short (arguments may be long or come from data)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_flag(value: Any, name: str, *, allow_none: bool = True, kind: str = "argument") -> bool | None:
    """A boolean argument: a real ``bool``, or a rendered template string (``true/false/1/0/yes/no``, any case)."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS + FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ConfigurationError(f"{kind} {name!r} must be a boolean (true/false/1/0/yes/no), got {shown(value)}")


def parse_side(value: Any, name: str = "side") -> str | None:
    """``front``, ``back``, ``double_side``, or ``None``/empty (the API default)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, str) and value.strip() in SIDES:
        return value.strip()
    raise ConfigurationError(f"argument {name!r} must be one of {', '.join(SIDES)} (or None), got {shown(value)}")


def parse_choice(value: Any, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if isinstance(value, str) and value.strip() in choices:
        return value.strip()
    raise ConfigurationError(f"argument {name!r} must be one of {', '.join(choices)}, got {shown(value)}")


def parse_number(
    value: Any, name: str, *, minimum: float | None = None, maximum: float | None = None, integer: bool = False
) -> float:
    """A number (or its rendered string) within ``[minimum, maximum]``."""
    if isinstance(value, bool):
        raise ConfigurationError(f"argument {name!r} must be a number, got {shown(value)}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ConfigurationError(f"argument {name!r} must be a number, got {shown(value)}") from None
    if number != number or (integer and number != int(number)):
        kind = "an integer" if integer else "a number"
        raise ConfigurationError(f"argument {name!r} must be {kind}, got {shown(value)}")
    if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
        bounds = f"within [{minimum}, {maximum}]" if maximum is not None else f"at least {minimum}"
        raise ConfigurationError(f"argument {name!r} must be {bounds}, got {shown(value)}")
    return number
