"""Pounds and pence: parsing, splitting by percentages without losing a penny, and showing."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from .errors import PaymentError

PENNY = Decimal("0.01")
HUNDRED = Decimal("100")
LARGEST = Decimal("99999999.99")  # what the database's amount columns hold


def pounds(value: Decimal | int | str) -> Decimal:
    """A Decimal amount rounded to the penny."""
    try:
        return Decimal(value).quantize(PENNY, rounding=ROUND_HALF_UP)
    except InvalidOperation:
        raise ValueError(f"{value!r} is not an amount of money.") from None


def split(total: Decimal, percents: list[Decimal]) -> list[Decimal]:
    """Shares of ``total`` by percentages summing to 100: each rounded to the penny, the last takes the remainder."""
    shares = [pounds(total * p / HUNDRED) for p in percents[:-1]]
    return [*shares, pounds(total) - sum(shares, Decimal("0.00"))]


def format_pounds(amount: Decimal | None) -> str:
    if amount is None:
        return ""
    sign = "−" if amount < 0 else ""
    return f"{sign}£{abs(amount):,.2f}"


def check_pence_and_size(amount: Decimal, field: str) -> Decimal:
    """An amount to the penny and within what the database holds (either sign); else a PaymentError at ``field``."""
    if pounds(amount) != amount:
        raise PaymentError("Give the amount in pounds and pence.", field=field)
    if abs(amount) > LARGEST:
        raise PaymentError(f"The amount can be at most {format_pounds(LARGEST)}.", field=field)
    return amount
