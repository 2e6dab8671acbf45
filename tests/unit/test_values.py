"""How numbers are written in messages."""

from __future__ import annotations

from decimal import Decimal

import pytest

from ordergate.domain.values import shown


@pytest.mark.parametrize(
    ("value", "text"),
    [("1.00000000", "1"), ("2.50", "2.5"), ("100", "100"), ("0.001", "0.001"), ("1E+2", "100")],
)
def test_shown_writes_a_number_without_exponent_or_trailing_zeros(value: str, text: str) -> None:
    assert shown(Decimal(value)) == text
