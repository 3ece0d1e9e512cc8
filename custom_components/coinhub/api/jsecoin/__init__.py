"""Client of the JSEcoin API: balances, transfers, coin codes, history and blocks.

No Home Assistant import: the integration injects its aiohttp session.
"""

from .._parse import (
    EARLIEST_MILLISECONDS,
    LATEST_MILLISECONDS,
    UNIX_EPOCH,
    from_unix_milliseconds,
    to_unix_milliseconds,
)
from .client import (
    AMOUNT_DECIMALS,
    DEFAULT_BASE_URL,
    MAIN_BALANCE_LOOKUP,
    MAX_REFERENCE_LENGTH,
    MIN_AMOUNT,
    RATE_LIMIT_REQUESTS,
    RATE_LIMIT_WINDOW,
    REFERENCE_CHARACTERS,
    JSEcoinClient,
    RequestBudget,
    format_amount,
    validate_transfer,
)
from .models import (
    Balance,
    Block,
    BlockInput,
    ExportResult,
    History,
    HistoryEntry,
    HistoryRecord,
    ImportResult,
    RecentHistory,
    TransferResult,
)

__all__ = [
    "AMOUNT_DECIMALS",
    "DEFAULT_BASE_URL",
    "EARLIEST_MILLISECONDS",
    "LATEST_MILLISECONDS",
    "MAIN_BALANCE_LOOKUP",
    "MAX_REFERENCE_LENGTH",
    "MIN_AMOUNT",
    "RATE_LIMIT_REQUESTS",
    "RATE_LIMIT_WINDOW",
    "REFERENCE_CHARACTERS",
    "UNIX_EPOCH",
    "Balance",
    "Block",
    "BlockInput",
    "ExportResult",
    "History",
    "HistoryEntry",
    "HistoryRecord",
    "ImportResult",
    "JSEcoinClient",
    "RecentHistory",
    "RequestBudget",
    "TransferResult",
    "format_amount",
    "from_unix_milliseconds",
    "to_unix_milliseconds",
    "validate_transfer",
]
