"""The sandbox's default seeds and config entries of its seeded accounts.

The end-to-end tests point real clients at the sandbox; these entries are what the
config flow would have created for the seeded accounts, with the sandbox as base URL.
"""

from __future__ import annotations

import json
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.const import (
    CONF_ACCESS_TOKEN,
    CONF_ALLOW_TRANSFERS,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_PROVIDER,
    CONF_WEBSITES,
    DOMAIN,
)
from sandbox.context import SEEDS_DIR
from tests.conftest import Sandbox


def seed(provider: str) -> dict[str, Any]:
    """Return the sandbox's default seed of ``provider``."""
    loaded: dict[str, Any] = json.loads((SEEDS_DIR / f"{provider}.json").read_text())
    return loaded


def jsecoin_account(name: str) -> dict[str, Any]:
    """Return a seeded JSEcoin account by name."""
    return next(a for a in seed("jsecoin")["accounts"] if a["name"] == name)


# Every JSEcoin write locks the account until the next block.
BLOCK_SECONDS: float = seed("jsecoin")["block_seconds"]
ALICE = jsecoin_account("alice")
BOB = jsecoin_account("bob")
WEBMASTER = seed("coinetize")["users"][0]
JOHN = seed("coinsoftworks")["accounts"][0]


def transfers_allowed(**changes: Any) -> dict[str, Any]:
    """Return JSEcoin options allowing transfers (100 at most, 500 a day), changed."""
    return {
        CONF_LOOKUPS: [],
        CONF_ALLOW_TRANSFERS: True,
        CONF_MAX_TRANSFER_AMOUNT: 100.0,
        CONF_DAILY_TRANSFER_LIMIT: 500.0,
        **changes,
    }


def jsecoin_entry(
    sandbox: Sandbox,
    account: dict[str, Any] = ALICE,
    *,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Return an entry of a seeded JSEcoin account; no options unless given."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"JSEcoin {account['uid']}",
        unique_id=f"jsecoin_{account['uid']}",
        data={
            CONF_PROVIDER: "jsecoin",
            CONF_API_KEY: account["api_key"],
            CONF_BASE_URL: sandbox.base_url("jsecoin"),
        },
        options=options,
    )


def coinetize_entry(
    sandbox: Sandbox,
    user: dict[str, Any] = WEBMASTER,
    *,
    auth_token: str | None = None,
    websites: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Return an entry of a seeded Coinetize website owner; no websites unless given.

    ``auth_token`` replaces the user's own token, for an entry that must reauthenticate.
    """
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Coinetize {user['username']}",
        unique_id=f"coinetize_{user['username'].lower()}",
        data={
            CONF_PROVIDER: "coinetize",
            CONF_USERNAME: user["username"],
            CONF_AUTH_TOKEN: user["auth_token"] if auth_token is None else auth_token,
            CONF_BASE_URL: sandbox.base_url("coinetize"),
            CONF_WEBSITES: {} if websites is None else websites,
        },
    )


def coinsoftworks_entry(
    sandbox: Sandbox,
    account: dict[str, Any] = JOHN,
    *,
    options: dict[str, Any] | None = None,
) -> MockConfigEntry:
    """Return an entry of a seeded coinsoftworks account; no options unless given."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"coinsoftworks {account['username']}",
        unique_id=f"coinsoftworks_{account['username'].lower()}",
        data={
            CONF_PROVIDER: "coinsoftworks",
            CONF_API_KEY: account["api_key"],
            CONF_ACCESS_TOKEN: account["access_token"],
            CONF_BASE_URL: sandbox.base_url("coinsoftworks"),
        },
        options=options,
    )


def jsecoin_seed_with_history(days: int) -> dict[str, Any]:
    """Return the JSEcoin seed with ``days`` of past transfers between Alice and Bob.

    Each day Bob sends Alice 2 JSE (at noon-ish, ``days`` to 1 days ago) and Alice
    sends Bob 1 JSE an hour later; the seeded balances stay as they are.
    """
    jsecoin = seed("jsecoin")
    accounts = {account["name"]: account for account in jsecoin["accounts"]}
    for day in range(days, 0, -1):
        accounts["bob"]["history"].append(
            {
                "command": "transfer",
                "to": "alice",
                "value": "2",
                "reference": f"day-{day}",
                "seconds_ago": day * 86400,
            }
        )
        accounts["alice"]["history"].append(
            {
                "command": "transfer",
                "to": "bob",
                "value": "1",
                "reference": f"back-{day}",
                "seconds_ago": day * 86400 - 3600,
            }
        )
    return jsecoin
