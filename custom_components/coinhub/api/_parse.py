"""Readers of answer fields, shared by the provider models.

A provider that answers without a field it documents, or with a field of the wrong
shape, sent something the client cannot use: every reader then raises
:class:`CannotConnectError` naming the provider and the field, never the value (which
could be personal or a secret).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, Final

from .exceptions import CannotConnectError

UNIX_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_MILLISECOND: Final = timedelta(milliseconds=1)
# The unix milliseconds a datetime can hold; a time outside them tells nothing.
EARLIEST_MILLISECONDS: Final = (datetime.min.replace(tzinfo=UTC) - UNIX_EPOCH) // (
    _MILLISECOND
)
LATEST_MILLISECONDS: Final = (datetime.max.replace(tzinfo=UTC) - UNIX_EPOCH) // (
    _MILLISECOND
)


def from_unix_milliseconds(milliseconds: int) -> datetime:
    """Return the aware UTC time of whole unix milliseconds, exactly.

    Raises ``OverflowError`` outside :data:`EARLIEST_MILLISECONDS` to
    :data:`LATEST_MILLISECONDS`.
    """
    return UNIX_EPOCH + timedelta(milliseconds=milliseconds)


def to_unix_milliseconds(moment: datetime) -> int:
    """Return the whole unix milliseconds of an aware time (rounded down)."""
    return (moment - UNIX_EPOCH) // _MILLISECOND


class AnswerFields:
    """The field readers of one provider's answers."""

    def __init__(self, provider: str) -> None:
        """Name ``provider`` in every error."""
        self.provider = provider

    def unexpected(self, what: str) -> CannotConnectError:
        """Return the error of a missing or malformed ``what``."""
        return CannotConnectError(f"{self.provider} answered without a valid {what}")

    def object(self, body: Any, what: str) -> Mapping[str, Any]:
        """Return ``body`` if it is a JSON object."""
        if not isinstance(body, Mapping):
            raise self.unexpected(what)
        return body

    def text(self, body: Mapping[str, Any], key: str, *, strip: bool = False) -> str:
        """Return the non-blank text at ``key``; with ``strip``, without its spaces."""
        value = body.get(key)
        if not isinstance(value, str) or not (value.strip() if strip else value):
            raise self.unexpected(key)
        return value.strip() if strip else value

    def optional_text(self, body: Mapping[str, Any], key: str) -> str | None:
        """Return the text at ``key``; ``None`` when it is absent, null or empty."""
        value = body.get(key)
        if value is None or value == "":
            return None
        if not isinstance(value, str):
            raise self.unexpected(key)
        return value

    def decimal(self, value: Any, what: str) -> Decimal:
        """Read an exact amount sent as a JSON number or as text."""
        if isinstance(value, bool) or not isinstance(value, Decimal | int | str):
            raise self.unexpected(what)
        try:
            amount = Decimal(value.strip() if isinstance(value, str) else value)
        except InvalidOperation:
            raise self.unexpected(what) from None
        if not amount.is_finite():
            raise self.unexpected(what)
        return amount

    def integer(self, value: Any, what: str) -> int:
        """Read a whole number sent as a JSON number or as text (``"72318"``)."""
        amount = self.decimal(value, what)
        if amount != amount.to_integral_value():
            raise self.unexpected(what)
        return int(amount)

    def unix_milliseconds(self, value: Any, what: str) -> datetime:
        """Turn unix milliseconds into an aware UTC datetime."""
        try:
            return from_unix_milliseconds(self.integer(value, what))
        except OverflowError:
            raise self.unexpected(what) from None

    def iso_time(self, value: Any, what: str) -> datetime:
        """Read an ISO 8601 time in UTC; one without a zone is taken as UTC."""
        if not isinstance(value, str):
            raise self.unexpected(what)
        try:
            moment = datetime.fromisoformat(value.strip())
        except ValueError:
            raise self.unexpected(what) from None
        if moment.tzinfo is None:
            return moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
