"""The providers CoinHub holds accounts of, and what each of them brings.

One :class:`ProviderSpec` per provider: the credentials its config flow asks for and
how they are checked, the coordinator of its entries, its options flow, and whether
its unique ids name accounts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from hashlib import sha256
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, OptionsFlow
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant

from .clients import coinetize_client, coinsoftworks_client, jsecoin_client
from .coinetize_options_flow import CoinetizeOptionsFlow
from .const import (
    CONF_ACCESS_TOKEN,
    CONF_ALLOW_TRANSFERS,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_AUTH_TOKEN,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_PROVIDER,
    CONF_WEBSITES,
    DEFAULT_ALLOW_TRANSFERS,
    DEFAULT_ALLOW_WALLET_ACTIONS,
    DEFAULT_DAILY_TRANSFER_LIMIT,
    DEFAULT_MAX_TRANSFER_AMOUNT,
    DOMAIN,
    MANUFACTURERS,
    Provider,
)
from .coordinator import (
    CoinetizeCoordinator,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
    JSEcoinCoordinator,
)
from .options_flow import CoinsoftworksOptionsFlow, JSEcoinOptionsFlow

# Without a user id in its history, a JSEcoin account is only known by its key.
JSECOIN_KEY_ID_PREFIX: Final = "jsecoin_key_"


@dataclass(frozen=True, slots=True)
class Account:
    """The account that validated credentials belong to."""

    unique_id: str
    title: str


type AccountValidator = Callable[[HomeAssistant, Mapping[str, Any]], Awaitable[Account]]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderSpec:
    """Everything CoinHub knows of one provider, beside its client and entities.

    What its config flow steps ask for and how they check the credentials, the
    coordinator of its entries and its options flow. A new provider is one more row in
    :data:`PROVIDERS`, not a new branch in the flow or the setup.
    """

    coordinator: type[CoinHubCoordinator[Any]]
    """Polls an entry's account."""
    fields: tuple[str, ...]
    """Credential fields, in form order."""
    secrets: frozenset[str]
    """Fields never echoed back to a form; the ones reauthentication asks again."""
    validate: AccountValidator
    """Authenticate against the provider and tell whose account it is."""
    prefixes: Mapping[str, str] = field(default_factory=dict)
    """Fields whose value always starts with a known prefix: checked before sending."""
    initial_data: Mapping[str, Any] = field(default_factory=dict)
    """Entry data a new entry starts with besides the credentials."""
    initial_options: Mapping[str, Any] = field(default_factory=dict)
    """Options a new entry starts with."""
    options_flow: type[OptionsFlow] | None = None
    """The flow that edits an entry's options, if the provider has options."""
    identifies_account: Callable[[str], bool] = lambda unique_id: True
    """Whether a unique id names the account itself, so new credentials can be
    checked to open the same account; an id derived from a key cannot be."""


def _key_fingerprint(secret: str) -> str:
    """Return an identifier derived from a secret that does not reveal it."""
    return sha256(secret.encode()).hexdigest()[:16]


async def _validate_jsecoin(hass: HomeAssistant, data: Mapping[str, Any]) -> Account:
    """Read the balance (needs read access) and the history (gives the user id)."""
    client = jsecoin_client(hass, data)
    await client.balance()
    history = await client.history()
    name = MANUFACTURERS[Provider.JSECOIN]
    # The first account is plainly "JSEcoin", so its balance reads aloud as "JSEcoin
    # balance"; further accounts are told apart by their user id.
    first = not any(
        entry.data.get(CONF_PROVIDER) == Provider.JSECOIN
        for entry in hass.config_entries.async_entries(DOMAIN)
    )
    if (user_id := history.account_user_id) is None:
        # A new account without transactions: its key is all we can tell it by.
        return Account(
            f"{JSECOIN_KEY_ID_PREFIX}{_key_fingerprint(data[CONF_API_KEY])}",
            name if first else f"{name} account",
        )
    return Account(f"jsecoin_{user_id}", name if first else f"{name} {user_id}")


async def _validate_coinetize(hass: HomeAssistant, data: Mapping[str, Any]) -> Account:
    """Check the signature; Coinetize has no "who am I" call, the username is the id."""
    await coinetize_client(hass, data).validate_credentials()
    username: str = data[CONF_USERNAME]
    return Account(
        f"coinetize_{username.lower()}",
        f"{MANUFACTURERS[Provider.COINETIZE]} {username}",
    )


async def _validate_coinsoftworks(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> Account:
    """Authenticate and read the user.

    The bearer token lands in the account's shared token cache, so the entry set up
    right after this flow does not authenticate again.
    """
    user = await coinsoftworks_client(hass, data).user()
    return Account(
        f"coinsoftworks_{user.username.lower()}",
        f"{MANUFACTURERS[Provider.COINSOFTWORKS]} {user.username}",
    )


PROVIDERS: Final[Mapping[Provider, ProviderSpec]] = {
    Provider.JSECOIN: ProviderSpec(
        coordinator=JSEcoinCoordinator,
        fields=(CONF_API_KEY,),
        secrets=frozenset({CONF_API_KEY}),
        validate=_validate_jsecoin,
        initial_options={
            CONF_LOOKUPS: [],
            CONF_ALLOW_TRANSFERS: DEFAULT_ALLOW_TRANSFERS,
            CONF_MAX_TRANSFER_AMOUNT: DEFAULT_MAX_TRANSFER_AMOUNT,
            CONF_DAILY_TRANSFER_LIMIT: DEFAULT_DAILY_TRANSFER_LIMIT,
        },
        options_flow=JSEcoinOptionsFlow,
        identifies_account=lambda unique_id: (
            not unique_id.startswith(JSECOIN_KEY_ID_PREFIX)
        ),
    ),
    Provider.COINETIZE: ProviderSpec(
        coordinator=CoinetizeCoordinator,
        fields=(CONF_USERNAME, CONF_AUTH_TOKEN),
        secrets=frozenset({CONF_AUTH_TOKEN}),
        validate=_validate_coinetize,
        # Linked websites are known only to us: kept in the entry, none yet.
        initial_data={CONF_WEBSITES: {}},
        # Websites linked elsewhere are followed through the options.
        options_flow=CoinetizeOptionsFlow,
    ),
    Provider.COINSOFTWORKS: ProviderSpec(
        coordinator=CoinsoftworksCoordinator,
        fields=(CONF_API_KEY, CONF_ACCESS_TOKEN),
        secrets=frozenset({CONF_API_KEY, CONF_ACCESS_TOKEN}),
        validate=_validate_coinsoftworks,
        prefixes={CONF_ACCESS_TOKEN: "1_"},
        initial_options={CONF_ALLOW_WALLET_ACTIONS: DEFAULT_ALLOW_WALLET_ACTIONS},
        options_flow=CoinsoftworksOptionsFlow,
    ),
}


def provider_of(entry: ConfigEntry) -> ProviderSpec:
    """Return what the provider of an entry's account brings."""
    return PROVIDERS[Provider(entry.data[CONF_PROVIDER])]
