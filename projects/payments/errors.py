"""The one error the payment services raise."""

from __future__ import annotations


class PaymentError(Exception):
    """A change the funding rules do not allow; the message says why, ``field`` says where."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field
