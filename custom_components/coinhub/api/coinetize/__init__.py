"""Client of the Coinetize website-linking API (no Home Assistant import)."""

from .client import (
    DEFAULT_BASE_URL,
    AlreadyVerifiedError,
    CoinetizeClient,
    PathsRefusedError,
    TimestampRefusedError,
    sign,
)
from .models import ARecord, LinkMethod, LinkResult, MessageResult, Paths, Review

__all__ = [
    "DEFAULT_BASE_URL",
    "ARecord",
    "AlreadyVerifiedError",
    "CoinetizeClient",
    "LinkMethod",
    "LinkResult",
    "MessageResult",
    "Paths",
    "PathsRefusedError",
    "Review",
    "TimestampRefusedError",
    "sign",
]
