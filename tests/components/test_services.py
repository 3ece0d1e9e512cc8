"""The CoinHub actions with mocked provider clients.

Every action's answer, every refusal (opt-in, limits, daily ledger across a restart,
entry checks), reconciliation of lost answers, serialised writes, and translated
provider errors that never carry a secret.
"""

from __future__ import annotations

import asyncio
from collections.abc import Generator
from dataclasses import replace
from datetime import datetime, timedelta
from decimal import Decimal
import logging
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers.service import async_get_all_descriptions
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub import services, transfers
from custom_components.coinhub.api.coinetize import (
    ARecord,
    CoinetizeClient,
    LinkResult,
    MessageResult,
    Paths,
    Review,
)
from custom_components.coinhub.api.coinsoftworks import (
    Action,
    BearerToken,
    CoinsoftworksClient,
    Execution,
    ExecutionStatus,
    Settings,
    User,
)
from custom_components.coinhub.api.exceptions import (
    AccessLevelError,
    AccountLockedError,
    AuthenticationError,
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    OutcomeUnknownError,
    ProviderRefusedError,
    RateLimitedError,
)
from custom_components.coinhub.api.jsecoin import (
    Balance,
    Block,
    BlockInput,
    ExportResult,
    History,
    HistoryEntry,
    HistoryRecord,
    ImportResult,
    JSEcoinClient,
    RecentHistory,
    TransferResult,
)
from custom_components.coinhub.const import (
    CONF_ACCESS_TOKEN,
    CONF_ALLOW_TRANSFERS,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_PROVIDER,
    CONF_WEBSITES,
    DOMAIN,
)
from tests.components.conftest import call_action

JSE_API_KEY = "jse-secret-key-do-not-leak-0001"
COINETIZE_TOKEN = "coinetize-secret-token-do-not-leak"
CSW_API_KEY = "csw-secret-key-do-not-leak"
CSW_ACCESS_TOKEN = "1_csw-secret-access-token"
COIN_CODE = "c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789"
SECRETS = (JSE_API_KEY, COINETIZE_TOKEN, CSW_API_KEY, CSW_ACCESS_TOKEN, COIN_CODE)
RECIPIENT = "bob@example.com"
LINKED_SUBDOMAIN = "site-4c1d9e"


def history_entry(
    entry_id: str,
    command: str,
    value: str,
    *,
    reference: str | None = None,
    email: str | None = None,
    timestamp: datetime | None = None,
) -> HistoryEntry:
    """Return one entry of the account's history."""
    return HistoryEntry(
        id=entry_id,
        command=command,
        value=Decimal(value),
        timestamp=timestamp or dt_util.utcnow(),
        reference=reference,
        counterparty_email=email,
        counterparty_public_key=None,
        user_id=123,
    )


SEED_HISTORY = History(
    entries=(
        history_entry(
            "-seed-mining",
            "mining",
            "0.75",
            timestamp=dt_util.utcnow() - timedelta(hours=1),
        ),
    ),
    account_user_id=123,
)
BLOCK = Block(
    block_id=72318,
    block_reference=72,
    difficulty=5,
    frequency=30000,
    hash="00000abc",
    previous_hash="00000abb",
    main_chain=True,
    open=True,
    nonce="42",
    server="jsecoin-sandbox",
    start_time=dt_util.utcnow(),
    version="test",
    inputs=(BlockInput("-in", "mining", Decimal("0.5"), 123, None, None),),
)
SEND_BTC = Action(
    "33", "Send BTC", "eWallet Action", "Enabled", ("recipient", "amount")
)
CLAIM = Action("12", "Claim mining rewards", "eMining Action", "Enabled")
RESTART = Action("41", "Restart miners", "eMining Action", "Disabled")


# Clients


@pytest.fixture
def jsecoin_client() -> Generator[AsyncMock]:
    """A JSEcoin client answering like a healthy account."""
    client = AsyncMock(spec=JSEcoinClient)
    client.balance.return_value = Balance(Decimal("250.5"), "Your balance is 250.5")
    client.history.return_value = SEED_HISTORY
    client.recent_history.return_value = RecentHistory(
        records=tuple(map(HistoryRecord.of, SEED_HISTORY.entries)),
        size=len(SEED_HISTORY.entries),
        skipped=0,
    )
    client.current_block_id.return_value = 72318
    client.block.return_value = BLOCK
    client.transfer.return_value = TransferResult("Transfer Has Been Confirmed")
    client.export_coins.return_value = ExportResult(COIN_CODE, "Export Successful")
    client.import_coins.return_value = ImportResult(Decimal(5))
    with patch("custom_components.coinhub.clients.JSEcoinClient", return_value=client):
        yield client


@pytest.fixture
def coinetize_client() -> Generator[AsyncMock]:
    """A Coinetize client answering like a healthy account."""
    client = AsyncMock(spec=CoinetizeClient)
    client.link_website.return_value = LinkResult(
        LINKED_SUBDOMAIN, "6f1d2c9a0b8e4f3a", "coinetize-5e0c7a21"
    )
    client.verify_website.return_value = MessageResult("Subdomain verified")
    client.unlink_website.return_value = MessageResult("Subdomain unlinked")
    client.add_path.return_value = Paths(("/shop", "/blog"), ())
    client.remove_path.return_value = Paths(("/shop",), ("/blog",))
    client.list_paths.return_value = Paths(("/shop",), ())
    client.review.return_value = Review(None, "RewriteEngine On")
    with patch(
        "custom_components.coinhub.clients.CoinetizeClient", return_value=client
    ):
        yield client


@pytest.fixture
def coinsoftworks_client() -> Generator[AsyncMock]:
    """A coinsoftworks client answering like a healthy account."""
    client = AsyncMock(spec=CoinsoftworksClient)
    client.authenticate.return_value = BearerToken(
        "bearer", dt_util.utcnow() + timedelta(hours=1), None
    )
    client.user.return_value = User("JohnCB5496", "Ultimate")
    client.settings.return_value = Settings(True, {})
    client.actions.return_value = (SEND_BTC, CLAIM, RESTART)
    client.execute_action.return_value = Execution("ex-1", "12", ExecutionStatus.QUEUED)
    client.execution.return_value = Execution(
        "ex-1", "12", ExecutionStatus.COMPLETED, {"claimed": "0.1"}
    )
    with patch(
        "custom_components.coinhub.clients.CoinsoftworksClient", return_value=client
    ):
        yield client


# Entries


def jsecoin_entry(**options: Any) -> MockConfigEntry:
    """Return a JSEcoin entry; transfers allowed up to 100, 500 a day unless told."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="JSEcoin 123",
        unique_id="jsecoin_123",
        data={
            CONF_PROVIDER: "jsecoin",
            CONF_API_KEY: JSE_API_KEY,
            CONF_BASE_URL: "https://jsecoin.invalid/server/api",
        },
        options={
            CONF_LOOKUPS: [],
            CONF_ALLOW_TRANSFERS: True,
            CONF_MAX_TRANSFER_AMOUNT: 100.0,
            CONF_DAILY_TRANSFER_LIMIT: 500.0,
            **options,
        },
    )


def coinetize_entry() -> MockConfigEntry:
    """Return a Coinetize entry that linked one website through CoinHub."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Coinetize webmaster",
        unique_id="coinetize_webmaster",
        data={
            CONF_PROVIDER: "coinetize",
            CONF_USERNAME: "webmaster",
            CONF_AUTH_TOKEN: COINETIZE_TOKEN,
            CONF_BASE_URL: "https://coinetize.invalid",
            CONF_WEBSITES: {
                LINKED_SUBDOMAIN: {
                    "website": "shop.example.com",
                    "link_method": "proxy",
                    "verification_code": "6f1d2c9a0b8e4f3a",
                    "link_verification_filename": "coinetize-5e0c7a21",
                    "dns_website": None,
                    "protocol": "https",
                    "path": None,
                    "port": None,
                    "verified": False,
                }
            },
        },
    )


def coinsoftworks_entry() -> MockConfigEntry:
    """Return a coinsoftworks entry."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="coinsoftworks JohnCB5496",
        unique_id="coinsoftworks_johncb5496",
        data={
            CONF_PROVIDER: "coinsoftworks",
            CONF_API_KEY: CSW_API_KEY,
            CONF_ACCESS_TOKEN: CSW_ACCESS_TOKEN,
            CONF_BASE_URL: "https://coinsoftworks.invalid/_functions",
        },
        # Wallet actions allowed: these tests run Send BTC to check its parameters.
        options={CONF_ALLOW_WALLET_ACTIONS: True},
    )


async def set_up(hass: HomeAssistant, entry: MockConfigEntry) -> MockConfigEntry:
    """Add ``entry`` and set it up."""
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    return entry


def assert_no_secret(err: BaseException) -> None:
    """The message of ``err`` and of what it wraps hold no credential or coin code."""
    texts = [str(err), repr(err), str(err.__cause__), str(err.__context__)]
    for secret in SECRETS:
        assert all(secret not in text for text in texts)


@pytest.fixture
async def jse_entry(hass: HomeAssistant, jsecoin_client: AsyncMock) -> MockConfigEntry:
    """A loaded JSEcoin entry with transfers allowed."""
    return await set_up(hass, jsecoin_entry())


@pytest.fixture(autouse=True)
def no_recheck_delay() -> Generator[None]:
    """Reconciliation re-reads the history at once in these tests."""
    with patch.object(transfers, "RECHECK_DELAY", 0):
        yield


def ledger_key(entry: MockConfigEntry) -> str:
    """Return the storage key of an entry's transfer ledger."""
    return transfers.ledger_storage_key(entry.entry_id)


# Registration and entry checks


async def test_actions_registered_once_without_entries(hass: HomeAssistant) -> None:
    """Every action exists as soon as the integration is set up, before any entry."""
    assert await async_setup_component(hass, DOMAIN, {})
    registered = set(hass.services.async_services_for_domain(DOMAIN))
    assert registered == set(services.ACTIONS)
    assert len(registered) == 11


def test_only_reading_actions_are_for_everyone() -> None:
    """Every action that changes an account is marked for administrators."""
    readers = {
        name for name, definition in services.ACTIONS.items() if not definition.admin
    }
    assert readers == {"get_block", "website_review"}


async def test_actions_described(hass: HomeAssistant) -> None:
    """Every action is described with its fields; each names its account."""
    assert await async_setup_component(hass, DOMAIN, {})
    descriptions = (await async_get_all_descriptions(hass))[DOMAIN]
    assert set(descriptions) == set(services.ACTIONS)
    for description in descriptions.values():
        entry_field = description["fields"]["config_entry_id"]
        assert entry_field["required"] is True
        assert entry_field["selector"] == {"config_entry": {"integration": DOMAIN}}


async def test_unknown_entry(hass: HomeAssistant, jse_entry: MockConfigEntry) -> None:
    """An entry id that does not exist is refused with Home Assistant's message."""
    with pytest.raises(ServiceValidationError) as err:
        await hass.services.async_call(
            DOMAIN,
            "get_block",
            {"config_entry_id": "no-such-entry"},
            blocking=True,
            return_response=True,
        )
    assert err.value.translation_key == "service_config_entry_not_found"


async def test_unloaded_entry(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """An entry that is not loaded is refused before anything is sent."""
    assert await hass.config_entries.async_unload(jse_entry.entry_id)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", jse_entry, recipient=RECIPIENT, amount=1, reference="r"
        )
    assert err.value.translation_key == "service_config_entry_not_loaded"
    jsecoin_client.transfer.assert_not_called()


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("transfer", {"recipient": RECIPIENT, "amount": 1, "reference": "r"}),
        ("import_coins", {"coin_code": "abc"}),
        ("execute_action", {"action": "Claim mining rewards"}),
        ("website_review", {"subdomain": LINKED_SUBDOMAIN}),
    ],
)
@pytest.mark.usefixtures("jsecoin_client", "coinetize_client", "coinsoftworks_client")
async def test_wrong_provider(
    hass: HomeAssistant, action: str, data: dict[str, Any]
) -> None:
    """An action refuses an account of another platform, naming the one it needs."""
    entries = {
        "jsecoin": await set_up(hass, jsecoin_entry()),
        "coinetize": await set_up(hass, coinetize_entry()),
        "coinsoftworks": await set_up(hass, coinsoftworks_entry()),
    }
    owner = services.ACTIONS[action].coordinator_type.provider
    for provider, entry in entries.items():
        if provider == owner:
            continue
        with pytest.raises(ServiceValidationError) as err:
            await call_action(hass, action, entry, **data)
        assert err.value.translation_key == "wrong_provider"
        assert err.value.translation_domain == DOMAIN
    jsecoin_client = entries["jsecoin"].runtime_data.client
    jsecoin_client.transfer.assert_not_called()
    jsecoin_client.import_coins.assert_not_called()
    entries["coinsoftworks"].runtime_data.client.execute_action.assert_not_called()
    entries["coinetize"].runtime_data.client.review.assert_not_called()


# Transfers


async def test_transfer(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    hass_storage: dict[str, Any],
) -> None:
    """A transfer is sent once and its amount written to the persisted ledger."""
    response = await call_action(
        hass,
        "transfer",
        jse_entry,
        recipient=RECIPIENT,
        amount=1.5,
        reference="invoice-1",
    )
    assert response == {"status": "sent", "notification": "Transfer Has Been Confirmed"}
    jsecoin_client.transfer.assert_awaited_once_with(
        RECIPIENT, Decimal("1.5"), "invoice-1"
    )
    records = hass_storage[ledger_key(jse_entry)]["data"]["records"]
    assert [record["amount"] for record in records] == ["1.5"]


async def test_transfer_amount_given_as_text(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """An amount rendered by a template as text is read exactly."""
    await call_action(
        hass,
        "transfer",
        jse_entry,
        recipient=RECIPIENT,
        amount="0.00000123",
        reference="r",
    )
    jsecoin_client.transfer.assert_awaited_once_with(
        RECIPIENT, Decimal("0.00000123"), "r"
    )


async def test_transfers_not_allowed(
    hass: HomeAssistant, jsecoin_client: AsyncMock
) -> None:
    """With the option off (its default) nothing is sent."""
    entry = await set_up(hass, jsecoin_entry(**{CONF_ALLOW_TRANSFERS: False}))
    for action, data in (
        ("transfer", {"recipient": RECIPIENT, "amount": 1, "reference": "r"}),
        ("export_coins", {"amount": 1}),
    ):
        with pytest.raises(ServiceValidationError) as err:
            await call_action(hass, action, entry, **data)
        assert err.value.translation_key == "transfers_not_allowed"
    jsecoin_client.transfer.assert_not_called()
    jsecoin_client.export_coins.assert_not_called()


async def test_transfers_off_by_default(
    hass: HomeAssistant, jsecoin_client: AsyncMock
) -> None:
    """An entry whose options never mentioned transfers refuses them."""
    entry = jsecoin_entry()
    entry = MockConfigEntry(
        domain=DOMAIN, title=entry.title, unique_id=entry.unique_id, data=entry.data
    )
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "export_coins", entry, amount=1)
    assert err.value.translation_key == "transfers_not_allowed"


async def test_transfer_above_maximum(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """One transfer cannot move more than the largest single transfer."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=RECIPIENT,
            amount=100.01,
            reference="r",
        )
    assert err.value.translation_key == "amount_above_maximum"
    assert err.value.translation_placeholders == {"amount": "100.01", "maximum": "100"}
    jsecoin_client.transfer.assert_not_called()


async def test_daily_limit(hass: HomeAssistant, jsecoin_client: AsyncMock) -> None:
    """Transfers and exports share the 24-hour limit."""
    entry = await set_up(hass, jsecoin_entry(**{CONF_DAILY_TRANSFER_LIMIT: 150.0}))
    await call_action(
        hass, "transfer", entry, recipient=RECIPIENT, amount=100, reference="a"
    )
    await call_action(hass, "export_coins", entry, amount=40)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", entry, recipient=RECIPIENT, amount=10.5, reference="b"
        )
    assert err.value.translation_key == "daily_limit_reached"
    assert err.value.translation_placeholders == {
        "amount": "10.5",
        "daily_limit": "150",
        "remaining": "10",
    }
    await call_action(
        hass, "transfer", entry, recipient=RECIPIENT, amount=10, reference="c"
    )
    assert jsecoin_client.transfer.await_count == 2


async def test_daily_limit_survives_a_restart(
    hass: HomeAssistant, jsecoin_client: AsyncMock, hass_storage: dict[str, Any]
) -> None:
    """What was sent before the entry was unloaded still counts after it is set up."""
    entry = await set_up(hass, jsecoin_entry(**{CONF_DAILY_TRANSFER_LIMIT: 350.0}))
    for reference in ("a", "b", "c"):
        await call_action(
            hass,
            "transfer",
            entry,
            recipient=RECIPIENT,
            amount=100,
            reference=reference,
        )
    stored = hass_storage[ledger_key(entry)]
    guard = entry.runtime_data.transfers

    assert await hass.config_entries.async_unload(entry.entry_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # A new guard, which knows the sent amounts from storage only.
    assert entry.runtime_data.transfers is not guard
    assert hass_storage[ledger_key(entry)] == stored

    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", entry, recipient=RECIPIENT, amount=60, reference="d"
        )
    assert err.value.translation_key == "daily_limit_reached"
    assert (err.value.translation_placeholders or {}).get("remaining") == "50"
    await call_action(
        hass, "transfer", entry, recipient=RECIPIENT, amount=50, reference="e"
    )
    assert jsecoin_client.transfer.await_count == 4


async def test_ledger_loaded_from_storage(
    hass: HomeAssistant, jsecoin_client: AsyncMock, hass_storage: dict[str, Any]
) -> None:
    """The ledger written before Home Assistant restarted is read back; old amounts expire."""
    entry = jsecoin_entry()
    now = dt_util.utcnow()
    hass_storage[ledger_key(entry)] = {
        "version": transfers.STORAGE_VERSION,
        "key": ledger_key(entry),
        "data": {
            "records": [
                {
                    "id": "old",
                    "at": (now - timedelta(hours=25)).isoformat(),
                    "amount": "500",
                },
                {
                    "id": "new",
                    "at": (now - timedelta(hours=23)).isoformat(),
                    "amount": "450",
                },
            ]
        },
    }
    await set_up(hass, entry)
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "export_coins", entry, amount=50.01)
    assert err.value.translation_key == "daily_limit_reached"
    await call_action(hass, "export_coins", entry, amount=50)
    records = hass_storage[ledger_key(entry)]["data"]["records"]
    assert [record["amount"] for record in records] == ["450", "50"]


async def test_ledger_removed_with_its_entry(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
) -> None:
    """The ledger of a removed entry can be deleted."""
    await call_action(hass, "export_coins", jse_entry, amount=1)
    assert ledger_key(jse_entry) in hass_storage
    await transfers.async_remove_ledger(hass, jse_entry.entry_id)
    assert ledger_key(jse_entry) not in hass_storage


async def test_refused_transfer_does_not_count(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    hass_storage: dict[str, Any],
) -> None:
    """A transfer the provider refused moved nothing: it leaves the ledger."""
    jsecoin_client.transfer.side_effect = ProviderRefusedError(
        "Transfer Failed: Insufficient Funds"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(
            hass, "transfer", jse_entry, recipient=RECIPIENT, amount=100, reference="r"
        )
    assert err.value.translation_key == "provider_refused"
    assert err.value.translation_placeholders == {
        "provider": "JSEcoin",
        "account": "JSEcoin 123",
        "notification": "Transfer Failed: Insufficient Funds",
    }
    assert hass_storage[ledger_key(jse_entry)]["data"]["records"] == []


async def test_transfer_locked_beyond_the_wait(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """A lock the client could not wait out is a temporary error; nothing moved."""
    jsecoin_client.transfer.side_effect = AccountLockedError(
        "Transfer Failed: Account 123 locked", retry_after=20
    )
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass, "transfer", jse_entry, recipient=RECIPIENT, amount=1, reference="r"
        )
    assert not isinstance(err.value, ServiceValidationError)
    assert err.value.translation_key == "account_locked"
    assert err.value.translation_placeholders == {
        "provider": "JSEcoin",
        "account": "JSEcoin 123",
        "seconds": "20",
    }


async def test_concurrent_transfers_are_serialised(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """Two transfers of one account never run at the same time."""
    running = 0
    most_at_once = 0

    async def slow_write(*args: Any) -> None:
        nonlocal running, most_at_once
        running += 1
        most_at_once = max(most_at_once, running)
        await asyncio.sleep(0.01)
        running -= 1

    async def slow_transfer(*args: Any) -> TransferResult:
        await slow_write()
        return TransferResult("Transfer Has Been Confirmed")

    async def slow_import(*args: Any) -> ImportResult:
        await slow_write()
        return ImportResult(Decimal(1))

    jsecoin_client.transfer.side_effect = slow_transfer
    jsecoin_client.import_coins.side_effect = slow_import
    await asyncio.gather(
        *(
            call_action(
                hass,
                "transfer",
                jse_entry,
                recipient=RECIPIENT,
                amount=1,
                reference=f"r{n}",
            )
            for n in range(3)
        ),
        hass.services.async_call(
            DOMAIN,
            "import_coins",
            {"config_entry_id": jse_entry.entry_id, "coin_code": "abc"},
            blocking=True,
        ),
    )
    assert jsecoin_client.transfer.await_count == 3
    assert most_at_once == 1


async def test_concurrent_transfers_respect_the_daily_limit(
    hass: HomeAssistant, jsecoin_client: AsyncMock
) -> None:
    """Calls racing for the last of the daily limit: only the ones that fit are sent."""
    entry = await set_up(hass, jsecoin_entry(**{CONF_DAILY_TRANSFER_LIMIT: 250.0}))
    results = await asyncio.gather(
        *(
            call_action(
                hass,
                "transfer",
                entry,
                recipient=RECIPIENT,
                amount=100,
                reference=f"r{n}",
            )
            for n in range(4)
        ),
        return_exceptions=True,
    )
    refused = [r for r in results if isinstance(r, ServiceValidationError)]
    assert len(refused) == 2
    assert {r.translation_key for r in refused} == {"daily_limit_reached"}
    assert jsecoin_client.transfer.await_count == 2


# Lost answers


def lost_transfer_history(
    *, reference: str = "invoice-9", value: str = "-2.5", age: timedelta | None = None
) -> History:
    """Return the seed history plus one outgoing transfer."""
    when = dt_util.utcnow() - (age or timedelta(0))
    return History(
        entries=(
            *SEED_HISTORY.entries,
            history_entry(
                "-sent",
                "transfer",
                value,
                reference=reference,
                email=RECIPIENT,
                timestamp=when,
            ),
        ),
        account_user_id=123,
    )


async def test_lost_transfer_confirmed_from_history(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    hass_storage: dict[str, Any],
) -> None:
    """The answer was lost but the history shows the transfer: it was sent, once."""
    coordinator = jse_entry.runtime_data
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")
    jsecoin_client.history.side_effect = lost_transfer_history
    with patch.object(
        coordinator, "async_process_history", wraps=coordinator.async_process_history
    ) as process_history:
        response = await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=RECIPIENT,
            amount=2.5,
            reference="invoice-9",
        )
    assert response == {
        "status": "sent",
        "notification": transfers.CONFIRMED_FROM_HISTORY,
    }
    jsecoin_client.transfer.assert_awaited_once()
    assert process_history.await_args is not None
    history = process_history.await_args.args[0]
    assert [entry.id for entry in history.entries][-1] == "-sent"
    records = hass_storage[ledger_key(jse_entry)]["data"]["records"]
    assert [record["amount"] for record in records] == ["2.5"]


@pytest.mark.parametrize(
    "history",
    [
        SEED_HISTORY,
        # the same transfer, but from before this one started
        lost_transfer_history(age=timedelta(minutes=5)),
        # another reference, another amount, an incoming one
        lost_transfer_history(reference="invoice-8"),
        lost_transfer_history(value="-2.4"),
        lost_transfer_history(value="2.5"),
    ],
)
async def test_lost_transfer_not_in_history(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    hass_storage: dict[str, Any],
    history: History,
) -> None:
    """The history shows no such transfer, also when read again: it was not sent."""
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")
    jsecoin_client.history.reset_mock()
    jsecoin_client.history.return_value = history
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=RECIPIENT,
            amount=2.5,
            reference="invoice-9",
        )
    assert err.value.translation_key == "transfer_not_sent"
    assert jsecoin_client.history.await_count >= 2
    assert hass_storage[ledger_key(jse_entry)]["data"]["records"] == []


async def test_lost_transfer_found_on_the_second_look(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """A history that shows the transfer only when read again still confirms it."""
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")
    reads = iter([CannotConnectError("down"), SEED_HISTORY])
    jsecoin_client.history.side_effect = lambda: (
        _raise_or_return(next(reads, None)) or lost_transfer_history()
    )
    response = await call_action(
        hass,
        "transfer",
        jse_entry,
        recipient=RECIPIENT,
        amount=2.5,
        reference="invoice-9",
    )
    assert response["status"] == "sent"


def _raise_or_return(value: Any) -> Any:
    if isinstance(value, BaseException):
        raise value
    return None


async def test_lost_transfer_to_a_public_key(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """A transfer to a public key is matched by the key; another key rules it out."""
    public_key = "04" + "ab" * 64
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")

    def history_to(key: str) -> History:
        sent = replace(
            history_entry("-sent", "transfer", "-2.5", reference="pk-1"),
            counterparty_public_key=key,
        )
        return History(entries=(sent,), account_user_id=123)

    jsecoin_client.history.side_effect = lambda: history_to("04" + "cd" * 64)
    with (
        patch.object(transfers, "RECHECK_DELAY", 0.01),
        pytest.raises(HomeAssistantError) as err,
    ):
        await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=public_key,
            amount=2.5,
            reference="pk-1",
        )
    assert err.value.translation_key == "transfer_not_sent"

    jsecoin_client.history.side_effect = lambda: history_to(public_key.upper())
    response = await call_action(
        hass, "transfer", jse_entry, recipient=public_key, amount=2.5, reference="pk-1"
    )
    assert response["status"] == "sent"


async def test_one_history_entry_confirms_one_transfer(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """Two identical lost transfers are not both confirmed by the same entry."""
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")
    history = lost_transfer_history()
    jsecoin_client.history.side_effect = lambda: history
    await call_action(
        hass,
        "transfer",
        jse_entry,
        recipient=RECIPIENT,
        amount=2.5,
        reference="invoice-9",
    )
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=RECIPIENT,
            amount=2.5,
            reference="invoice-9",
        )
    assert err.value.translation_key == "transfer_not_sent"


async def test_lost_transfer_history_unreadable(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    hass_storage: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Without a readable history the outcome stays unknown and the amount counts."""
    jsecoin_client = jse_entry.runtime_data.client
    jsecoin_client.transfer.side_effect = OutcomeUnknownError("answer lost")
    jsecoin_client.history.side_effect = CannotConnectError("down")
    with pytest.raises(HomeAssistantError) as err:
        await call_action(
            hass,
            "transfer",
            jse_entry,
            recipient=RECIPIENT,
            amount=2.5,
            reference="invoice-9",
        )
    assert err.value.translation_key == "transfer_outcome_unknown"
    assert err.value.translation_placeholders == {"amount": "2.5"}
    assert "could not be read" in caplog.text
    records = hass_storage[ledger_key(jse_entry)]["data"]["records"]
    assert [record["amount"] for record in records] == ["2.5"]


# Coin codes


async def test_export_coins(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The coin code is in the response and nowhere else."""
    caplog.set_level(logging.DEBUG)
    response = await call_action(hass, "export_coins", jse_entry, amount=5)
    assert response == {"coin_code": COIN_CODE, "notification": "Export Successful"}
    jsecoin_client.export_coins.assert_awaited_once_with(Decimal(5))
    assert COIN_CODE not in caplog.text
    for state in hass.states.async_all():
        assert COIN_CODE not in str(state.as_dict())


async def test_export_coins_needs_a_response(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """A caller that would drop the coin code is refused before anything is sent."""
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN,
            "export_coins",
            {"config_entry_id": jse_entry.entry_id, "amount": 5},
            blocking=True,
        )
    jsecoin_client.export_coins.assert_not_called()


def export_history() -> History:
    """Return the seed history plus an export made just now."""
    export = history_entry("-export", "export", "5")
    return History(entries=(*SEED_HISTORY.entries, export), account_user_id=123)


@pytest.mark.parametrize(
    ("read_history", "key"),
    [
        (export_history, "export_code_lost"),
        (lambda: SEED_HISTORY, "export_not_sent"),
        (CannotConnectError("down"), "export_outcome_unknown"),
    ],
)
async def test_export_answer_lost(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    jsecoin_client: AsyncMock,
    read_history: Any,
    key: str,
) -> None:
    """A lost export answer never invents a code: it tells whether value left."""
    jsecoin_client.export_coins.side_effect = OutcomeUnknownError("answer lost")
    jsecoin_client.history.side_effect = read_history
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "export_coins", jse_entry, amount=5)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == {"amount": "5"}
    assert_no_secret(err.value)


async def test_import_coins(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """An import answers the credited value; it needs no opt-in."""
    hass.config_entries.async_update_entry(
        jse_entry, options={**jse_entry.options, CONF_ALLOW_TRANSFERS: False}
    )
    await hass.async_block_till_done()
    response = await call_action(hass, "import_coins", jse_entry, coin_code=COIN_CODE)
    assert response == {"value": 5.0, "confirmed_from_history": False}
    jsecoin_client.import_coins.assert_awaited_once_with(COIN_CODE)


async def test_import_coins_used(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """The provider's refusal of a used code is translated, without the code."""
    jsecoin_client.import_coins.side_effect = ProviderRefusedError(
        "Transfer Failed: Coin Code Used"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "import_coins", jse_entry, coin_code=COIN_CODE)
    assert err.value.translation_key == "provider_refused"
    assert_no_secret(err.value)


# Blocks


async def test_get_block(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """Without a number the current block is read; with one, that block."""
    response = await call_action(hass, "get_block", jse_entry)
    jsecoin_client.block.assert_awaited_with(72318)
    assert response == BLOCK.as_dict()
    await call_action(hass, "get_block", jse_entry, block=5)
    jsecoin_client.block.assert_awaited_with(5)


# Provider errors


@pytest.mark.parametrize(
    ("error", "error_type", "key"),
    [
        (
            AccessLevelError("no write", required_level=2),
            HomeAssistantError,
            "access_level",
        ),
        (
            RateLimitedError("slow down", retry_after=60),
            HomeAssistantError,
            "rate_limited",
        ),
        (CannotConnectError("down"), HomeAssistantError, "cannot_connect"),
        # A lost answer is settled from the history, which shows no such import.
        (OutcomeUnknownError("lost"), HomeAssistantError, "import_not_made"),
        (CoinHubError("odd"), HomeAssistantError, "provider_error"),
        (
            InvalidInputError("coin_code", "bad"),
            ServiceValidationError,
            "invalid_coin_code",
        ),
        (InvalidInputError("mystery", "bad"), ServiceValidationError, "invalid_input"),
    ],
)
async def test_provider_errors_translated(
    hass: HomeAssistant,
    jse_entry: MockConfigEntry,
    error: CoinHubError,
    error_type: type[HomeAssistantError],
    key: str,
) -> None:
    """Each client error becomes its translated Home Assistant error."""
    jse_entry.runtime_data.client.import_coins.side_effect = error
    with pytest.raises(error_type) as err:
        await call_action(hass, "import_coins", jse_entry, coin_code=COIN_CODE)
    assert err.value.translation_domain == DOMAIN
    assert err.value.translation_key == key
    assert str(err.value)  # the message is translated, not empty
    assert_no_secret(err.value)
    assert not hass.config_entries.flow.async_progress_by_handler(DOMAIN)


async def test_refused_credentials_start_reauth(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """Refused credentials are translated and ask the user to reauthenticate."""
    jsecoin_client.block.side_effect = AuthenticationError("API key not recognized")
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "get_block", jse_entry, block=1)
    assert err.value.translation_key == "auth_failed"
    assert str(err.value).startswith("JSEcoin refused the credentials of JSEcoin 123.")
    assert_no_secret(err.value)
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


async def test_key_without_read_access_starts_reauth(
    hass: HomeAssistant, jse_entry: MockConfigEntry, jsecoin_client: AsyncMock
) -> None:
    """A key that cannot even read asks for a new key, as a poll refused so does."""
    jsecoin_client.block.side_effect = AccessLevelError("no read", required_level=1)
    with pytest.raises(HomeAssistantError) as err:
        await call_action(hass, "get_block", jse_entry, block=1)
    assert err.value.translation_key == "access_level"
    assert err.value.translation_placeholders["level"] == "1"
    await hass.async_block_till_done()
    flows = hass.config_entries.flow.async_progress_by_handler(DOMAIN)
    assert [flow["context"]["source"] for flow in flows] == ["reauth"]


# coinsoftworks


@pytest.fixture
async def csw_entry(
    hass: HomeAssistant, coinsoftworks_client: AsyncMock
) -> MockConfigEntry:
    """A loaded coinsoftworks entry."""
    return await set_up(hass, coinsoftworks_entry())


@pytest.mark.parametrize(
    "wanted", ["12", "Claim mining rewards", "  claim MINING rewards"]
)
async def test_execute_action(
    hass: HomeAssistant, csw_entry: MockConfigEntry, wanted: str
) -> None:
    """An action is found by id or by name in any case, and run once."""
    coordinator = csw_entry.runtime_data
    finished = Execution("ex-1", "12", ExecutionStatus.COMPLETED, {"claimed": "0.1"})
    with patch.object(
        coordinator, "async_execute", AsyncMock(return_value=finished)
    ) as execute:
        response = await call_action(
            hass, "execute_action", csw_entry, action=wanted, timeout=30
        )
    assert response == {
        "execution_id": "ex-1",
        "status": "completed",
        "result": {"claimed": "0.1"},
        "message": None,
    }
    execute.assert_awaited_once_with(CLAIM, None, wait=30.0)


async def test_execute_action_with_parameters(
    hass: HomeAssistant, csw_entry: MockConfigEntry
) -> None:
    """Parameters go to the execution; not waiting answers how it stands now."""
    coordinator = csw_entry.runtime_data
    queued = Execution("ex-2", "33", ExecutionStatus.QUEUED)
    with patch.object(
        coordinator, "async_execute", AsyncMock(return_value=queued)
    ) as execute:
        response = await call_action(
            hass,
            "execute_action",
            csw_entry,
            action="Send BTC",
            parameters={"recipient": "x", "amount": "0.1"},
            wait=False,
        )
    assert response == {
        "execution_id": "ex-2",
        "status": "queued",
        "result": None,
        "message": None,
    }
    execute.assert_awaited_once_with(
        SEND_BTC, {"recipient": "x", "amount": "0.1"}, wait=None
    )


@pytest.mark.parametrize(
    ("data", "key", "placeholders"),
    [
        (
            {"action": "Mine the moon"},
            "unknown_action",
            {"actions": "Claim mining rewards, Restart miners, Send BTC"},
        ),
        ({"action": "41"}, "action_disabled", {"action": "Restart miners"}),
        (
            {"action": "Send BTC", "parameters": {"recipient": "x"}},
            "action_parameters_missing",
            {"action": "Send BTC", "parameters": "amount"},
        ),
    ],
)
async def test_execute_action_refused(
    hass: HomeAssistant,
    csw_entry: MockConfigEntry,
    data: dict[str, Any],
    key: str,
    placeholders: dict[str, str],
) -> None:
    """Unknown and disabled actions and missing parameters are refused before sending."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "execute_action", csw_entry, **data)
    assert err.value.translation_key == key
    assert err.value.translation_placeholders == placeholders
    csw_entry.runtime_data.client.execute_action.assert_not_called()


async def test_execute_action_provider_error(
    hass: HomeAssistant, csw_entry: MockConfigEntry
) -> None:
    """A provider refusal of the execution is translated without the key."""
    coordinator = csw_entry.runtime_data
    with (
        patch.object(
            coordinator,
            "async_execute",
            AsyncMock(side_effect=ProviderRefusedError("Action 12 is disabled")),
        ),
        pytest.raises(ServiceValidationError) as err,
    ):
        await call_action(hass, "execute_action", csw_entry, action="12")
    assert err.value.translation_placeholders == {
        "provider": "coinsoftworks",
        "account": "coinsoftworks JohnCB5496",
        "notification": "Action 12 is disabled",
    }
    assert_no_secret(err.value)


# Coinetize


@pytest.fixture
async def ctz_entry(
    hass: HomeAssistant, coinetize_client: AsyncMock
) -> MockConfigEntry:
    """A loaded Coinetize entry with one website linked through CoinHub."""
    return await set_up(hass, coinetize_entry())


async def test_link_website(
    hass: HomeAssistant, ctz_entry: MockConfigEntry, coinetize_client: AsyncMock
) -> None:
    """What Coinetize hands out once is kept in the entry before the answer."""
    coinetize_client.link_website.return_value = LinkResult(
        "site-new", "code-new", "coinetize-new"
    )
    response = await call_action(
        hass,
        "link_website",
        ctz_entry,
        website="blog.example.com",
        link_method="dns",
        dns_website="www.example.com",
        port="8443",
    )
    assert response == {
        "subdomain": "site-new",
        "verification_code": "code-new",
        "link_verification_filename": "coinetize-new",
    }
    coinetize_client.link_website.assert_awaited_once_with(
        "blog.example.com", "dns", dns_website="www.example.com", port=8443
    )
    website = ctz_entry.data[CONF_WEBSITES]["site-new"]
    assert website["website"] == "blog.example.com"
    assert website["link_method"] == "dns"
    assert website["verification_code"] == "code-new"
    assert website["link_verification_filename"] == "coinetize-new"
    assert website["port"] == 8443
    assert website["verified"] is False


async def test_verify_website(
    hass: HomeAssistant, ctz_entry: MockConfigEntry, coinetize_client: AsyncMock
) -> None:
    """A verified website is remembered as verified."""
    response = await call_action(
        hass, "verify_website", ctz_entry, subdomain=LINKED_SUBDOMAIN, v_file="proof"
    )
    assert response == {"message": "Subdomain verified"}
    coinetize_client.verify_website.assert_awaited_once_with(LINKED_SUBDOMAIN, "proof")
    assert ctz_entry.data[CONF_WEBSITES][LINKED_SUBDOMAIN]["verified"] is True


async def test_unlink_website(
    hass: HomeAssistant, ctz_entry: MockConfigEntry, coinetize_client: AsyncMock
) -> None:
    """An unlinked website is forgotten; one linked elsewhere may be unlinked too."""
    response = await call_action(
        hass, "unlink_website", ctz_entry, subdomain=LINKED_SUBDOMAIN
    )
    assert response == {"message": "Subdomain unlinked"}
    assert LINKED_SUBDOMAIN not in ctz_entry.data[CONF_WEBSITES]

    await call_action(hass, "unlink_website", ctz_entry, subdomain="site-elsewhere")
    coinetize_client.unlink_website.assert_awaited_with("site-elsewhere")


async def test_paths(
    hass: HomeAssistant, ctz_entry: MockConfigEntry, coinetize_client: AsyncMock
) -> None:
    """Adding and removing a path answer the website's paths."""
    added = await call_action(
        hass, "add_path", ctz_entry, subdomain=LINKED_SUBDOMAIN, path="/blog"
    )
    assert added == {"enabled_paths": ["/shop", "/blog"], "deleted_paths": []}
    removed = await call_action(
        hass, "remove_path", ctz_entry, subdomain=LINKED_SUBDOMAIN, path="/blog"
    )
    assert removed == {"enabled_paths": ["/shop"], "deleted_paths": ["/blog"]}
    coinetize_client.add_path.assert_awaited_once_with(LINKED_SUBDOMAIN, "/blog")
    coinetize_client.remove_path.assert_awaited_once_with(LINKED_SUBDOMAIN, "/blog")


@pytest.mark.parametrize(
    ("review", "expected"),
    [
        (
            Review(ARecord("203.0.113.80", "www.example.com"), "RewriteEngine On"),
            {
                "a_record": {
                    "ip_address": "203.0.113.80",
                    "website": "www.example.com",
                },
                "htaccess_code": "RewriteEngine On",
            },
        ),
        (Review(None, None), {"a_record": None, "htaccess_code": None}),
    ],
)
async def test_website_review(
    hass: HomeAssistant,
    ctz_entry: MockConfigEntry,
    coinetize_client: AsyncMock,
    review: Review,
    expected: dict[str, Any],
) -> None:
    """The review answers the A record (or none) and the .htaccess code."""
    coinetize_client.review.return_value = review
    assert (
        await call_action(hass, "website_review", ctz_entry, subdomain=LINKED_SUBDOMAIN)
        == expected
    )


@pytest.mark.parametrize(
    ("action", "data"),
    [
        ("verify_website", {}),
        ("add_path", {"path": "/blog"}),
        ("remove_path", {"path": "/blog"}),
        ("website_review", {}),
    ],
)
async def test_unknown_subdomain(
    hass: HomeAssistant,
    ctz_entry: MockConfigEntry,
    coinetize_client: AsyncMock,
    action: str,
    data: dict[str, Any],
) -> None:
    """A subdomain this entry did not link is refused before anything is sent."""
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, action, ctz_entry, subdomain="site-elsewhere", **data)
    assert err.value.translation_key == "unknown_subdomain"
    assert err.value.translation_placeholders == {"subdomains": LINKED_SUBDOMAIN}
    for method in ("verify_website", "add_path", "remove_path", "review"):
        getattr(coinetize_client, method).assert_not_called()


async def test_coinetize_refusal(
    hass: HomeAssistant, ctz_entry: MockConfigEntry, coinetize_client: AsyncMock
) -> None:
    """A Coinetize refusal is translated and never shows the token."""
    coinetize_client.verify_website.side_effect = ProviderRefusedError(
        f"Verification code not found on {LINKED_SUBDOMAIN}"
    )
    with pytest.raises(ServiceValidationError) as err:
        await call_action(hass, "verify_website", ctz_entry, subdomain=LINKED_SUBDOMAIN)
    assert (err.value.translation_placeholders or {}).get("provider") == "Coinetize"
    assert ctz_entry.data[CONF_WEBSITES][LINKED_SUBDOMAIN]["verified"] is False
    assert_no_secret(err.value)
