"""Client of the coinsoftworks account-automation API (no Home Assistant import)."""

from .client import (
    ACCESS_TOKEN_HEADER,
    DEFAULT_BASE_URL,
    DEFAULT_REFRESH_MARGIN,
    CoinsoftworksClient,
    TokenCache,
)
from .models import (
    Action,
    BearerToken,
    Execution,
    ExecutionStatus,
    Settings,
    User,
)

__all__ = [
    "ACCESS_TOKEN_HEADER",
    "DEFAULT_BASE_URL",
    "DEFAULT_REFRESH_MARGIN",
    "Action",
    "BearerToken",
    "CoinsoftworksClient",
    "Execution",
    "ExecutionStatus",
    "Settings",
    "TokenCache",
    "User",
]
