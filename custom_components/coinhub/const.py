"""Constants for the CoinHub integration."""

from __future__ import annotations

from enum import StrEnum
import logging
from typing import Final

from .api import coinetize, coinsoftworks, jsecoin

DOMAIN: Final = "coinhub"
LOGGER = logging.getLogger(__package__)


class Provider(StrEnum):
    """The platforms a config entry can hold an account of."""

    JSECOIN = "jsecoin"
    COINETIZE = "coinetize"
    COINSOFTWORKS = "coinsoftworks"


# Config entry data
CONF_PROVIDER: Final = "provider"
CONF_ADVANCED: Final = "advanced"  # the collapsed config-flow section holding base_url
CONF_BASE_URL: Final = "base_url"
CONF_AUTH_TOKEN: Final = "auth_token"  # noqa: S105 - a field name, not a secret
CONF_ACCESS_TOKEN: Final = "access_token"  # noqa: S105 - a field name, not a secret
# Coinetize websites: those linked through CoinHub are kept in the entry's data (what
# Coinetize handed out is known only to us); those followed are subdomains in options.
CONF_WEBSITES: Final = "websites"

# JSEcoin options
CONF_LOOKUPS: Final = "lookups"
CONF_ALLOW_TRANSFERS: Final = "allow_transfers"
CONF_MAX_TRANSFER_AMOUNT: Final = "max_transfer_amount"
CONF_DAILY_TRANSFER_LIMIT: Final = "daily_transfer_limit"

# Value-moving actions are off until the user opts in, then capped (JSE).
DEFAULT_ALLOW_TRANSFERS: Final = False
DEFAULT_MAX_TRANSFER_AMOUNT: Final = 100.0
DEFAULT_DAILY_TRANSFER_LIMIT: Final = 500.0

DEFAULT_BASE_URLS: Final[dict[Provider, str]] = {
    Provider.JSECOIN: jsecoin.DEFAULT_BASE_URL,
    Provider.COINETIZE: coinetize.DEFAULT_BASE_URL,
    Provider.COINSOFTWORKS: coinsoftworks.DEFAULT_BASE_URL,
}

MANUFACTURERS: Final[dict[Provider, str]] = {
    Provider.JSECOIN: "JSEcoin",
    Provider.COINETIZE: "Coinetize",
    Provider.COINSOFTWORKS: "coinsoftworks",
}

# coinsoftworks options: wallet actions may move value, so they are off until allowed.
CONF_ALLOW_WALLET_ACTIONS: Final = "allow_wallet_actions"
DEFAULT_ALLOW_WALLET_ACTIONS: Final = False

# Events
EVENT_TRANSACTION: Final = "coinhub_transaction"
EVENT_ACTION_FINISHED: Final = "coinhub_action_finished"
EVENT_INCOME: Final = "coinhub_income"
EVENT_WEBSITE_VERIFIED: Final = "coinhub_website_verified"

# Action (service) fields shared by every action
ATTR_CONFIG_ENTRY_ID: Final = "config_entry_id"
