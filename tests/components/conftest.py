"""Shared fixtures of the integration tests: mocked clients answering from JSON fixtures.

The fixtures in ``fixtures/*.json`` are provider answers; the mocks return what the api
models' own parsers make of them, so the integration sees exactly what the real
clients would hand it.
"""

from __future__ import annotations

from collections.abc import Container, Generator, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
import json
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, PropertyMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import (
    CONF_API_KEY,
    CONF_USERNAME,
    EVENT_HOMEASSISTANT_FINAL_WRITE,
)
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion
from syrupy.filters import props

from custom_components.coinhub.account_state import ACCOUNT_STATES
from custom_components.coinhub.api.coinetize import CoinetizeClient, Paths
from custom_components.coinhub.api.coinsoftworks import (
    Action,
    CoinsoftworksClient,
    Execution,
    Settings,
    User,
)
from custom_components.coinhub.api.exceptions import ProviderRefusedError
from custom_components.coinhub.api.jsecoin import (
    Balance,
    History,
    HistoryRecord,
    JSEcoinClient,
    RecentHistory,
)
from custom_components.coinhub.api.jsecoin.models import block_id_from_api
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
    Provider,
)
from custom_components.coinhub.stores import ACCOUNT_FILES

FIXTURES = Path(__file__).parent / "fixtures"

JSECOIN_API_KEY = "jse-test-key-7b1f0c9e2d4a6853-secret"
COINETIZE_USERNAME = "webmaster"
COINETIZE_AUTH_TOKEN = "coinetize-test-token-4e8d2a1c-secret"
COINSOFTWORKS_API_KEY = "csw-test-key-0a1b2c3d-secret"
COINSOFTWORKS_ACCESS_TOKEN = "1_csw-test-access-token-secret"
CREDENTIALS = (
    JSECOIN_API_KEY,
    COINETIZE_AUTH_TOKEN,
    COINSOFTWORKS_API_KEY,
    COINSOFTWORKS_ACCESS_TOKEN,
)


def load_json_fixture(name: str) -> Any:
    """Return a JSON fixture, amounts as exact decimals (as the clients decode them)."""
    return json.loads((FIXTURES / name).read_text(), parse_float=Decimal)


def fixture_secrets() -> tuple[str, ...]:
    """Return every credential and personal value the fixtures hold.

    None of them may appear in diagnostics, events, attributes or logs.
    """
    jsecoin = load_json_fixture("jsecoin.json")["history"]["history"]
    websites = load_json_fixture("coinetize.json")["websites"]
    personal = [
        value
        for entry in jsecoin.values()
        for key, value in entry.items()
        if key in {"user1email", "user2email", "publicKey", "toPublicKey"}
    ]
    codes = [website["verification_code"] for website in websites.values()]
    return (*CREDENTIALS, *personal, *codes)


# Clients


@pytest.fixture
def mock_jsecoin_client() -> Generator[AsyncMock]:
    """A JSEcoin client answering from ``jsecoin.json``.

    ``client.balances`` holds the balance of each lookup (``"0"`` is the main one);
    tests change it to move the account.
    """
    answers = load_json_fixture("jsecoin.json")
    client = AsyncMock(spec=JSEcoinClient)
    client.balances = {
        "0": Balance.from_api(answers["balance"]).balance,
        **{
            lookup: Balance.from_api(answer).balance
            for lookup, answer in answers["lookups"].items()
        },
    }

    async def balance(lookup: str = "0") -> Balance:
        return Balance(client.balances[lookup], "")

    client.balance.side_effect = balance
    client.history.return_value = History.from_api(answers["history"])

    async def recent_history(
        since: datetime | None,
        *,
        window: timedelta,
        known: Container[str] = frozenset(),
    ) -> RecentHistory:
        # The poll's read, answered from the mocked full history (so tests steer both
        # with ``client.history`` and count reads with its ``await_count``).
        entries = (await client.history()).entries
        if since is None and entries:
            since = max(e.timestamp for e in entries) - window
        records = tuple(
            HistoryRecord.of(e)
            for e in entries
            if (since is None or e.timestamp >= since) and e.id not in known
        )
        return RecentHistory(records=records, size=len(entries), skipped=0)

    client.recent_history.side_effect = recent_history
    client.current_block_id.return_value = block_id_from_api(answers["currentblockid"])
    with patch("custom_components.coinhub.clients.JSEcoinClient", return_value=client):
        yield client


@pytest.fixture
def mock_coinetize_client() -> Generator[AsyncMock]:
    """A Coinetize client answering from ``coinetize.json``.

    ``client.paths`` maps subdomains to their paths; any other subdomain is refused as
    not verified, as Coinetize does.
    """
    answers = load_json_fixture("coinetize.json")
    client = AsyncMock(spec=CoinetizeClient)
    client.paths = {
        subdomain: Paths.from_api(answer)
        for subdomain, answer in answers["list_paths"].items()
    }

    async def list_paths(subdomain: str) -> Paths:
        if subdomain not in client.paths:
            raise ProviderRefusedError(f"Subdomain {subdomain} is not verified")
        paths: Paths = client.paths[subdomain]
        return paths

    client.list_paths.side_effect = list_paths
    with patch(
        "custom_components.coinhub.clients.CoinetizeClient", return_value=client
    ):
        yield client


@pytest.fixture
def mock_coinsoftworks_client() -> Generator[AsyncMock]:
    """A coinsoftworks client answering from ``coinsoftworks.json``.

    Executions start queued and read as running, then completed.
    """
    answers = load_json_fixture("coinsoftworks.json")
    client = AsyncMock(spec=CoinsoftworksClient)
    client.user.return_value = User.from_api(answers["user"])
    client.settings.return_value = Settings.from_api(answers["settings"])
    client.actions.return_value = Action.many_from_api(answers["actions"])
    client.execute_action.return_value = Execution.from_api(
        answers["execute"], action_id="12"
    )
    client.execution.side_effect = [
        Execution.from_api(answers["running"]),
        Execution.from_api(answers["completed"]),
    ]
    with patch(
        "custom_components.coinhub.clients.CoinsoftworksClient", return_value=client
    ):
        yield client


@pytest.fixture
def mock_clients(
    mock_jsecoin_client: AsyncMock,
    mock_coinetize_client: AsyncMock,
    mock_coinsoftworks_client: AsyncMock,
) -> dict[Provider, AsyncMock]:
    """All three mocked clients, by provider."""
    return {
        Provider.JSECOIN: mock_jsecoin_client,
        Provider.COINETIZE: mock_coinetize_client,
        Provider.COINSOFTWORKS: mock_coinsoftworks_client,
    }


# Entries


def jsecoin_config_entry(**options: Any) -> MockConfigEntry:
    """Return a JSEcoin entry tracking one lookup, transfers off."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="JSEcoin 123",
        unique_id="jsecoin_123",
        data={
            CONF_PROVIDER: Provider.JSECOIN.value,
            CONF_API_KEY: JSECOIN_API_KEY,
            CONF_BASE_URL: "https://jsecoin.invalid/server/api",
        },
        options={
            CONF_LOOKUPS: ["mysite.com"],
            CONF_ALLOW_TRANSFERS: False,
            CONF_MAX_TRANSFER_AMOUNT: 100.0,
            CONF_DAILY_TRANSFER_LIMIT: 500.0,
            **options,
        },
        entry_id="01JSECOIN0000000000000000",
    )


def coinetize_config_entry(
    websites: Mapping[str, Any] | None = None,
) -> MockConfigEntry:
    """Return a Coinetize entry holding the websites of ``coinetize.json``."""
    if websites is None:
        websites = load_json_fixture("coinetize.json")["websites"]
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Coinetize {COINETIZE_USERNAME}",
        unique_id=f"coinetize_{COINETIZE_USERNAME}",
        data={
            CONF_PROVIDER: Provider.COINETIZE.value,
            CONF_USERNAME: COINETIZE_USERNAME,
            CONF_AUTH_TOKEN: COINETIZE_AUTH_TOKEN,
            CONF_BASE_URL: "https://coinetize.invalid",
            CONF_WEBSITES: dict(websites),
        },
        entry_id="01COINETIZE00000000000000",
    )


def coinsoftworks_config_entry() -> MockConfigEntry:
    """Return a coinsoftworks entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="coinsoftworks JohnCB5496",
        unique_id="coinsoftworks_johncb5496",
        data={
            CONF_PROVIDER: Provider.COINSOFTWORKS.value,
            CONF_API_KEY: COINSOFTWORKS_API_KEY,
            CONF_ACCESS_TOKEN: COINSOFTWORKS_ACCESS_TOKEN,
            CONF_BASE_URL: "https://coinsoftworks.invalid/_functions",
        },
        entry_id="01COINSOFTWORKS0000000000",
    )


CONFIG_ENTRIES = {
    Provider.JSECOIN: jsecoin_config_entry,
    Provider.COINETIZE: coinetize_config_entry,
    Provider.COINSOFTWORKS: coinsoftworks_config_entry,
}


@pytest.fixture
def provider() -> Provider:
    """The provider of ``mock_config_entry``; tests parametrize it."""
    return Provider.JSECOIN


@pytest.fixture
def mock_config_entry(provider: Provider) -> MockConfigEntry:
    """A config entry of ``provider``, not yet added."""
    return CONFIG_ENTRIES[provider]()


async def setup_entry(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add ``entry`` (unless added) and set it up; it must load."""
    if hass.config_entries.async_get_entry(entry.entry_id) is None:
        entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


async def restart_home_assistant(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    """Stop Home Assistant and start a new one, as far as ``entry`` can tell.

    Stopping unloads the entry and makes Home Assistant's last write (the saves
    still pending); the new instance knows only what is on disk, nothing in memory.
    """
    assert await hass.config_entries.async_unload(entry.entry_id)
    hass.bus.async_fire(EVENT_HOMEASSISTANT_FINAL_WRITE)
    await hass.async_block_till_done()
    hass.data.pop(ACCOUNT_FILES, None)
    hass.data.pop(ACCOUNT_STATES, None)


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    mock_clients: dict[Provider, AsyncMock],
    mock_config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The loaded ``mock_config_entry`` with mocked clients."""
    return await setup_entry(hass, mock_config_entry)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots serialised as Home Assistant's own tests do, in ``snapshots/``.

    ``compat_name`` is a registry field Home Assistant 2026.11 added: left out so one
    set of snapshots holds on 2026.10 and 2026.11 alike.
    """
    return snapshot.use_extension(HomeAssistantSnapshotExtension).with_defaults(
        exclude=props("compat_name")
    )


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, also those disabled by default."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        new_callable=PropertyMock,
        return_value=True,
    ):
        yield


async def call_action(
    hass: HomeAssistant, service: str, entry: MockConfigEntry, /, **data: Any
) -> Any:
    """Call a CoinHub action for ``entry`` and return its response."""
    return await hass.services.async_call(
        DOMAIN,
        service,
        {"config_entry_id": entry.entry_id, **data},
        blocking=True,
        return_response=True,
    )
