"""Exceptions raised by the CoinHub provider clients.

Messages never contain a secret: no API key, token, signature or URL that carries one.
"""

from __future__ import annotations


class CoinHubError(Exception):
    """Base class of every error a provider client raises."""


class InvalidInputError(CoinHubError, ValueError):
    """A value was refused before anything was sent (unsafe URL segment, bad amount…)."""

    def __init__(self, field: str, reason: str) -> None:
        """Name the offending field and why it was refused."""
        super().__init__(f"Invalid {field}: {reason}")
        self.field = field
        self.reason = reason


class CannotConnectError(CoinHubError):
    """The provider could not be reached, or answered with something unreadable.

    Raised only when nothing can have been applied, or for calls without side effects.
    """


class OutcomeUnknownError(CoinHubError):
    """A side-effecting request was sent but its answer was lost.

    The provider may or may not have applied it; the caller must reconcile before retrying.
    """


class AuthenticationError(CoinHubError):
    """The credentials were refused."""


class AccessLevelError(AuthenticationError):
    """The credentials are valid but lack the access level the call needs."""

    def __init__(self, message: str, *, required_level: int | None = None) -> None:
        """Keep the level the call needs, when the provider tells it."""
        super().__init__(message)
        self.required_level = required_level


class RateLimitedError(CoinHubError):
    """The provider (or the client's own request budget) refused for too many requests."""

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        """Keep how many seconds to wait, when known."""
        super().__init__(message)
        self.retry_after = retry_after


class ProviderRefusedError(CoinHubError):
    """The provider understood the request and refused it, with its own notification."""

    def __init__(self, notification: str) -> None:
        """Keep the provider's notification for the user."""
        super().__init__(notification)
        self.notification = notification


class AccountLockedError(ProviderRefusedError):
    """JSEcoin refused a write because a recent one is still pending; nothing was moved."""

    def __init__(self, notification: str, *, retry_after: float) -> None:
        """Keep the seconds the provider asked to wait."""
        super().__init__(notification)
        self.retry_after = retry_after
