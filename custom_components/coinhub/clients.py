"""Build provider clients from config entry data, on Home Assistant's shared session.

The state a provider's limits impose on an account — JSEcoin's request budget, the
coinsoftworks bearer token — belongs to the Home Assistant instance, not to one client:
the config flow, the entry and its actions all draw on it, and it outlives a reload of
the entry. :class:`ClientState` holds it in ``hass.data``, so a second instance in the
same process starts afresh.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import hashlib
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.util.hass_dict import HassKey

from .api.coinetize import CoinetizeClient
from .api.coinsoftworks import CoinsoftworksClient, TokenCache
from .api.jsecoin import JSEcoinClient, RequestBudget
from .const import CONF_ACCESS_TOKEN, CONF_AUTH_TOKEN, CONF_BASE_URL, DOMAIN


def fingerprint(*secrets: str) -> str:
    """Return a key that tells credentials apart without holding them."""
    return hashlib.sha256("\x00".join(secrets).encode()).hexdigest()


@dataclass
class ClientState:
    """What the clients of one Home Assistant instance share, per account.

    Keyed by :func:`fingerprint` of the credentials, never by the secrets themselves.
    """

    jsecoin_budgets: dict[str, RequestBudget] = field(default_factory=dict)
    coinsoftworks_tokens: dict[str, TokenCache] = field(default_factory=dict)

    def jsecoin_budget(self, api_key: str) -> RequestBudget:
        """Return the request budget of a JSEcoin key, created on first use."""
        return self.jsecoin_budgets.setdefault(fingerprint(api_key), RequestBudget())

    def coinsoftworks_token_cache(self, api_key: str, access_token: str) -> TokenCache:
        """Return the bearer-token cache of a coinsoftworks account."""
        return self.coinsoftworks_tokens.setdefault(
            fingerprint(api_key, access_token), TokenCache()
        )


CLIENT_STATE: HassKey[ClientState] = HassKey(f"{DOMAIN}_client_state")


def client_state(hass: HomeAssistant) -> ClientState:
    """Return this Home Assistant instance's client state, created on first use."""
    if (state := hass.data.get(CLIENT_STATE)) is None:
        state = hass.data[CLIENT_STATE] = ClientState()
    return state


def jsecoin_client(hass: HomeAssistant, data: Mapping[str, Any]) -> JSEcoinClient:
    """Return a JSEcoin client drawing on its key's request budget."""
    api_key = data[CONF_API_KEY]
    return JSEcoinClient(
        async_get_clientsession(hass),
        api_key,
        base_url=data[CONF_BASE_URL],
        budget=client_state(hass).jsecoin_budget(api_key),
    )


def coinetize_client(hass: HomeAssistant, data: Mapping[str, Any]) -> CoinetizeClient:
    """Return a Coinetize client for the account in ``data``."""
    return CoinetizeClient(
        async_get_clientsession(hass),
        data[CONF_USERNAME],
        data[CONF_AUTH_TOKEN],
        base_url=data[CONF_BASE_URL],
    )


def coinsoftworks_client(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> CoinsoftworksClient:
    """Return a coinsoftworks client sharing its account's bearer-token cache.

    The cache is shared so the token obtained while the config flow validated the
    credentials is reused by the entry it creates.
    """
    api_key, access_token = data[CONF_API_KEY], data[CONF_ACCESS_TOKEN]
    return CoinsoftworksClient(
        async_get_clientsession(hass),
        api_key,
        access_token,
        base_url=data[CONF_BASE_URL],
        token_cache=client_state(hass).coinsoftworks_token_cache(api_key, access_token),
    )
