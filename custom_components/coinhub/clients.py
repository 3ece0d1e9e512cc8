"""Build provider clients from config entry data, on Home Assistant's shared session."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.helpers.aiohttp_client import async_get_clientsession

from .api.coinetize import CoinetizeClient
from .api.coinsoftworks import CoinsoftworksClient, token_cache_for
from .api.jsecoin import JSEcoinClient
from .const import CONF_ACCESS_TOKEN, CONF_AUTH_TOKEN, CONF_BASE_URL


def jsecoin_client(hass: HomeAssistant, data: Mapping[str, Any]) -> JSEcoinClient:
    """Return a JSEcoin client for the account in ``data``."""
    return JSEcoinClient(
        async_get_clientsession(hass), data[CONF_API_KEY], base_url=data[CONF_BASE_URL]
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
        token_cache=token_cache_for(api_key, access_token),
    )
