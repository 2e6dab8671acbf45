"""Exact numbers: Decimal-backed prices, quantities and money (no binary floating point)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from ordergate.domain.errors import InvalidInput, InvalidPrice, InvalidQuantity

__all__ = ["MAX_INTEGER_DIGITS", "SCALE", "Money", "Price", "Quantity", "shown", "to_decimal"]

#: Decimal places every stored number keeps; storage uses integers of 10**-SCALE.
SCALE = 8
_QUANTUM = Decimal(1).scaleb(-SCALE)
#: Stored numbers are 64-bit integers of 10**-SCALE units, so at most 10 integer digits.
MAX_INTEGER_DIGITS = 10


def to_decimal(raw: object, what: str = "value") -> Decimal:
    """Parse ``raw`` (a Decimal, int or str only) to a finite Decimal of at most SCALE places."""
    if isinstance(raw, bool) or not isinstance(raw, Decimal | int | str):
        raise InvalidInput(f"{what} must be a decimal number, got {type(raw).__name__}")
    try:
        value = Decimal(raw.strip() if isinstance(raw, str) else raw)
    except (InvalidOperation, ValueError):
        raise InvalidInput(f"{what} is not a number: {raw!r}") from None
    if not value.is_finite():
        raise InvalidInput(f"{what} must be finite")
    if value.adjusted() >= MAX_INTEGER_DIGITS:
        raise InvalidInput(f"{what} is too large (at most {MAX_INTEGER_DIGITS} integer digits)")
    if value != value.quantize(_QUANTUM, rounding="ROUND_DOWN"):
        raise InvalidInput(f"{what} has more than {SCALE} decimal places")
    return value


def _on_step(value: Decimal, step: Decimal) -> bool:
    return step > 0 and (value % step) == 0


@dataclass(frozen=True, order=True, slots=True)
class Price:
    """A strictly positive price."""

    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            object.__setattr__(self, "value", to_decimal(self.value, "price"))
        if self.value <= 0:
            raise InvalidPrice(f"price must be positive, got {self.value}")

    @classmethod
    def of(cls, raw: object) -> Price:
        try:
            return cls(to_decimal(raw, "price"))
        except InvalidPrice:
            raise
        except InvalidInput as exc:
            raise InvalidPrice(exc.message) from None

    def on_tick(self, tick: Decimal) -> bool:
        return _on_step(self.value, tick)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, order=True, slots=True)
class Quantity:
    """A non-negative quantity (contracts, lots or units)."""

    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            object.__setattr__(self, "value", to_decimal(self.value, "quantity"))
        if self.value < 0:
            raise InvalidQuantity(f"quantity must not be negative, got {self.value}")

    @classmethod
    def of(cls, raw: object) -> Quantity:
        try:
            return cls(to_decimal(raw, "quantity"))
        except InvalidQuantity:
            raise
        except InvalidInput as exc:
            raise InvalidQuantity(exc.message) from None

    @classmethod
    def zero(cls) -> Quantity:
        return cls(Decimal(0))

    def is_zero(self) -> bool:
        return self.value == 0

    def on_step(self, step: Decimal) -> bool:
        return _on_step(self.value, step)

    def __add__(self, other: Quantity) -> Quantity:
        return Quantity(self.value + other.value)

    def __sub__(self, other: Quantity) -> Quantity:
        return Quantity(self.value - other.value)

    def __str__(self) -> str:
        return str(self.value)


@dataclass(frozen=True, order=True, slots=True)
class Money:
    """An amount in an account currency; may be negative (losses, debits)."""

    value: Decimal

    def __post_init__(self) -> None:
        if not isinstance(self.value, Decimal):
            object.__setattr__(self, "value", to_decimal(self.value, "amount"))

    def __add__(self, other: Money) -> Money:
        return Money(self.value + other.value)

    def __sub__(self, other: Money) -> Money:
        return Money(self.value - other.value)

    def __str__(self) -> str:
        return str(self.value)


def shown(value: Decimal) -> str:
    """A number for a message: no exponent and no trailing zeros (1.00000000 -> 1)."""
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text
