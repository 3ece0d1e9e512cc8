"""Tests of the CoinHub config and options flows, with the provider clients mocked."""

from __future__ import annotations

from collections.abc import AsyncGenerator, Generator
from dataclasses import dataclass, replace
from hashlib import sha256
import json
from pathlib import Path
from typing import Any
from unittest.mock import AsyncMock, MagicMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigFlowResult
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType, UnknownHandler
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.api.exceptions import (
    AccessLevelError,
    AuthenticationError,
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    ProviderRefusedError,
    RateLimitedError,
)
from custom_components.coinhub.config_flow import CoinHubConfigFlow
from custom_components.coinhub.const import (
    CONF_ACCESS_TOKEN,
    CONF_ADVANCED,
    CONF_ALLOW_TRANSFERS,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_PROVIDER,
    CONF_WEBSITES,
    DEFAULT_BASE_URLS,
    DOMAIN,
    MANUFACTURERS,
    Provider,
)
from custom_components.coinhub.providers import PROVIDERS

JSECOIN_KEY = "jse-key-7f3a9c0e5b21d864"
JSECOIN_USER_ID = 4242
COINETIZE_USERNAME = "WebMaster"
COINETIZE_TOKEN = "coinetize-token-91b2c3d4e5f6a7b8"
COINSOFTWORKS_KEY = "csw-key-0a1b2c3d4e5f6789"
COINSOFTWORKS_TOKEN = "1_csw-simple-token-ffeeddccbbaa"
COINSOFTWORKS_USERNAME = "Automator"
NEW_SECRET = "rotated-secret-1234567890"
SECRETS = (
    JSECOIN_KEY,
    COINETIZE_TOKEN,
    COINSOFTWORKS_KEY,
    COINSOFTWORKS_TOKEN,
    NEW_SECRET,
    f"1_{NEW_SECRET}",
)
MIRROR_URL = "http://127.0.0.1:8080/mirror"


@dataclass(frozen=True)
class ProviderCase:
    """One provider's expected flow: what the user types and what the entry holds."""

    provider: Provider
    credentials: dict[str, str]
    secrets: dict[str, str]  # the fields reauthentication asks, with new values
    validating_call: str  # the client method whose failure the flow reports
    unique_id: str
    title: str
    extra_data: dict[str, Any]
    options: dict[str, Any]

    @property
    def user_input(self) -> dict[str, Any]:
        """Return the form input with the default base URL."""
        return {
            **self.credentials,
            CONF_ADVANCED: {CONF_BASE_URL: DEFAULT_BASE_URLS[self.provider]},
        }

    @property
    def entry_data(self) -> dict[str, Any]:
        """Return the flat entry data the flow stores."""
        return {
            CONF_PROVIDER: self.provider.value,
            CONF_BASE_URL: DEFAULT_BASE_URLS[self.provider],
            **self.credentials,
            **self.extra_data,
        }


CASES = {
    Provider.JSECOIN: ProviderCase(
        provider=Provider.JSECOIN,
        credentials={CONF_API_KEY: JSECOIN_KEY},
        secrets={CONF_API_KEY: NEW_SECRET},
        validating_call="balance",
        unique_id=f"jsecoin_{JSECOIN_USER_ID}",
        title="JSEcoin",
        extra_data={},
        options={
            CONF_LOOKUPS: [],
            CONF_ALLOW_TRANSFERS: False,
            CONF_MAX_TRANSFER_AMOUNT: 100.0,
            CONF_DAILY_TRANSFER_LIMIT: 500.0,
        },
    ),
    Provider.COINETIZE: ProviderCase(
        provider=Provider.COINETIZE,
        credentials={
            CONF_USERNAME: COINETIZE_USERNAME,
            CONF_AUTH_TOKEN: COINETIZE_TOKEN,
        },
        secrets={CONF_AUTH_TOKEN: NEW_SECRET},
        validating_call="validate_credentials",
        unique_id="coinetize_webmaster",
        title="Coinetize WebMaster",
        extra_data={CONF_WEBSITES: {}},
        options={},
    ),
    Provider.COINSOFTWORKS: ProviderCase(
        provider=Provider.COINSOFTWORKS,
        credentials={
            CONF_API_KEY: COINSOFTWORKS_KEY,
            CONF_ACCESS_TOKEN: COINSOFTWORKS_TOKEN,
        },
        secrets={CONF_API_KEY: NEW_SECRET, CONF_ACCESS_TOKEN: f"1_{NEW_SECRET}"},
        validating_call="user",
        unique_id="coinsoftworks_automator",
        title="coinsoftworks Automator",
        extra_data={},
        options={CONF_ALLOW_WALLET_ACTIONS: False},
    ),
}
ALL_CASES = pytest.mark.parametrize(
    "case", list(CASES.values()), ids=lambda case: case.provider.value
)

# Provider failures and the form error each one shows.
FAILURES = [
    (AuthenticationError("API key not recognized"), "invalid_auth"),
    (AccessLevelError("API key does not have read access"), "no_read_access"),
    (CannotConnectError("timeout"), "cannot_connect"),
    (RateLimitedError("slow down", retry_after=30), "rate_limited"),
    (InvalidInputError("something_else", "contains /"), "invalid_auth"),
    (ProviderRefusedError("nope"), "unknown"),
    (CoinHubError("odd"), "unknown"),
    (RuntimeError("boom"), "unknown"),
]


@dataclass
class MockClients:
    """The mocked client of every provider, as the client factories return them."""

    jsecoin: AsyncMock
    coinetize: AsyncMock
    coinsoftworks: AsyncMock
    factories: dict[Provider, MagicMock]

    def of(self, provider: Provider) -> AsyncMock:
        """Return the mocked client of ``provider``."""
        client: AsyncMock = getattr(self, provider.value)
        return client

    def failing(self, case: ProviderCase, error: Exception) -> AsyncMock:
        """Make the call that validates ``case``'s credentials raise ``error``."""
        call: AsyncMock = getattr(self.of(case.provider), case.validating_call)
        call.side_effect = error
        return call


@pytest.fixture(autouse=True)
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep entries from setting up: these tests are about the flows."""
    with patch(
        "custom_components.coinhub.async_setup_entry", return_value=True
    ) as setup_entry:
        yield setup_entry


@pytest.fixture(autouse=True)
def no_secret_logged(caplog: pytest.LogCaptureFixture) -> Generator[None]:
    """Fail any test whose log shows a secret."""
    yield
    for secret in SECRETS:
        assert secret not in caplog.text


@pytest.fixture
async def clients(hass: HomeAssistant) -> AsyncGenerator[MockClients]:
    """Patch the client factories the config flow uses with accepting mocks.

    Home Assistant's pending work (a reload a finished flow scheduled) is waited for
    before the patches end, so none of it reaches a real provider.
    """
    jsecoin = AsyncMock()
    jsecoin.history.return_value = MagicMock(account_user_id=JSECOIN_USER_ID)
    coinetize = AsyncMock()
    coinsoftworks = AsyncMock()
    coinsoftworks.user.return_value = MagicMock(
        username=COINSOFTWORKS_USERNAME, purchased_plan="Pro"
    )
    with (
        patch(
            "custom_components.coinhub.providers.jsecoin_client",
            return_value=jsecoin,
        ) as jsecoin_factory,
        # The options flow checks lookups with the same client.
        patch(
            "custom_components.coinhub.options_flow.jsecoin_client",
            new=jsecoin_factory,
        ),
        patch(
            "custom_components.coinhub.providers.coinetize_client",
            return_value=coinetize,
        ) as coinetize_factory,
        patch(
            "custom_components.coinhub.providers.coinsoftworks_client",
            return_value=coinsoftworks,
        ) as coinsoftworks_factory,
    ):
        yield MockClients(
            jsecoin,
            coinetize,
            coinsoftworks,
            {
                Provider.JSECOIN: jsecoin_factory,
                Provider.COINETIZE: coinetize_factory,
                Provider.COINSOFTWORKS: coinsoftworks_factory,
            },
        )
        await hass.async_block_till_done()


def mock_entry(case: ProviderCase, **overrides: Any) -> MockConfigEntry:
    """Return a config entry as the flow creates it for ``case``."""
    return MockConfigEntry(
        domain=DOMAIN,
        title=case.title,
        unique_id=overrides.pop("unique_id", case.unique_id),
        data={**case.entry_data, **overrides},
        options=case.options,
    )


async def start_provider_step(
    hass: HomeAssistant, provider: Provider
) -> ConfigFlowResult:
    """Open the menu and pick ``provider``; return its form."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": provider.value}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == provider.value
    return result


def section_default(result: ConfigFlowResult) -> Any:
    """Return the default base URL the form's advanced section offers."""
    advanced = result["data_schema"].schema[CONF_ADVANCED]
    assert advanced.options == {"collapsed": True}
    for key in advanced.schema.schema:
        if key == CONF_BASE_URL:
            return key.default()
    raise AssertionError("no base_url in the advanced section")


def suggested(result: ConfigFlowResult, field: str) -> Any:
    """Return the value a form suggests for ``field``, or None."""
    for key in result["data_schema"].schema:
        if key == field:
            return (key.description or {}).get("suggested_value")
    raise AssertionError(f"no {field} in the form")


async def test_user_step_is_a_provider_menu(hass: HomeAssistant) -> None:
    """The first step lets the user choose the platform."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    assert result["step_id"] == "user"
    assert result["menu_options"] == ["jsecoin", "coinetize", "coinsoftworks"]


@ALL_CASES
async def test_create_entry(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Valid credentials create a flat entry named after the account."""
    result = await start_provider_step(hass, case.provider)
    assert result["errors"] == {}
    assert section_default(result) == DEFAULT_BASE_URLS[case.provider]
    assert set(result["data_schema"].schema) == {*case.credentials, CONF_ADVANCED}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == case.title
    assert result["data"] == case.entry_data
    assert result["options"] == case.options
    assert result["result"].unique_id == case.unique_id
    factory_data = clients.factories[case.provider].call_args.args[1]
    assert factory_data[CONF_BASE_URL] == DEFAULT_BASE_URLS[case.provider]


async def test_jsecoin_validation_reads_balance_and_history(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """JSEcoin needs read access (balance) and names the account from its history."""
    result = await start_provider_step(hass, Provider.JSECOIN)
    await hass.config_entries.flow.async_configure(
        result["flow_id"], CASES[Provider.JSECOIN].user_input
    )
    clients.jsecoin.balance.assert_awaited_once_with()
    clients.jsecoin.history.assert_awaited_once_with()


async def test_jsecoin_without_history_is_known_by_key_fingerprint(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """An account without history gets an id derived from its key, never the key."""
    clients.jsecoin.history.return_value = MagicMock(account_user_id=None)
    result = await start_provider_step(hass, Provider.JSECOIN)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CASES[Provider.JSECOIN].user_input
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "JSEcoin"
    fingerprint = sha256(JSECOIN_KEY.encode()).hexdigest()[:16]
    assert result["result"].unique_id == f"jsecoin_key_{fingerprint}"


@pytest.mark.parametrize(
    ("user_id", "title"),
    [(JSECOIN_USER_ID, f"JSEcoin {JSECOIN_USER_ID}"), (None, "JSEcoin account")],
)
async def test_further_jsecoin_accounts_are_told_apart(
    hass: HomeAssistant, clients: MockClients, user_id: int | None, title: str
) -> None:
    """The first account is "JSEcoin"; the next ones carry their user id."""
    MockConfigEntry(
        domain=DOMAIN,
        title="JSEcoin",
        unique_id="jsecoin_1",
        data={CONF_PROVIDER: Provider.JSECOIN.value},
    ).add_to_hass(hass)
    clients.jsecoin.history.return_value = MagicMock(account_user_id=user_id)
    result = await start_provider_step(hass, Provider.JSECOIN)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CASES[Provider.JSECOIN].user_input
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == title


@ALL_CASES
async def test_advanced_base_url_is_used_and_stored(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """The base URL from the advanced section reaches the client and the entry."""
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**case.credentials, CONF_ADVANCED: {CONF_BASE_URL: f" {MIRROR_URL}/ "}},
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_BASE_URL] == MIRROR_URL
    assert CONF_ADVANCED not in result["data"]
    assert clients.factories[case.provider].call_args.args[1][CONF_BASE_URL] == (
        MIRROR_URL
    )


async def test_credentials_are_stripped(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """Whitespace pasted around a credential is not part of it."""
    case = CASES[Provider.COINETIZE]
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_USERNAME: f" {COINETIZE_USERNAME}\n",
            CONF_AUTH_TOKEN: f"\t{COINETIZE_TOKEN} ",
            CONF_ADVANCED: {CONF_BASE_URL: DEFAULT_BASE_URLS[case.provider]},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == case.entry_data


@pytest.mark.parametrize(
    "base_url",
    [
        "ftp://api.example.com",
        "api.example.com/server/api",
        "/server/api",
        "https://",
        "http://[::1",
        "https://user:password@api.example.com",
        "https://api.example.com/?key=1",
        "https://api.example.com/#top",
    ],
)
@ALL_CASES
async def test_invalid_base_url(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase, base_url: str
) -> None:
    """Only an absolute http(s) URL is accepted; nothing is sent before that."""
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**case.credentials, CONF_ADVANCED: {CONF_BASE_URL: base_url}},
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_ADVANCED: "invalid_url"}
    clients.factories[case.provider].assert_not_called()
    # What the user typed is offered again, except the secrets.
    for field, value in case.credentials.items():
        expected = value if field == CONF_USERNAME else None
        assert suggested(result, field) == expected

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(("error", "error_key"), FAILURES, ids=repr)
@ALL_CASES
async def test_create_entry_errors(
    hass: HomeAssistant,
    clients: MockClients,
    case: ProviderCase,
    error: Exception,
    error_key: str,
) -> None:
    """A provider failure becomes a form error; the flow recovers once it passes."""
    call = clients.failing(case, error)
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == case.provider.value
    assert result["errors"] == {"base": error_key}

    call.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == case.entry_data


async def test_jsecoin_history_without_read_access(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """A key whose history read is refused for its access level cannot be used."""
    clients.jsecoin.history.side_effect = AccessLevelError("no read access")
    result = await start_provider_step(hass, Provider.JSECOIN)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], CASES[Provider.JSECOIN].user_input
    )
    assert result["errors"] == {"base": "no_read_access"}


@ALL_CASES
async def test_refused_characters_are_reported_on_the_field(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """A credential the client refuses to send is flagged on its own field."""
    field = next(iter(case.secrets))
    call = clients.failing(case, InvalidInputError(field, "contains /"))
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["errors"] == {field: "invalid_characters"}

    call.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


async def test_unexpected_error_is_logged_without_secrets(
    hass: HomeAssistant, clients: MockClients, caplog: pytest.LogCaptureFixture
) -> None:
    """An unexpected failure is logged with its traceback, never with a secret."""
    case = CASES[Provider.COINSOFTWORKS]
    clients.failing(case, RuntimeError("boom"))
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )

    assert result["errors"] == {"base": "unknown"}
    assert "Unexpected error while checking a coinsoftworks account" in caplog.text
    assert "RuntimeError: boom" in caplog.text


@pytest.mark.parametrize("access_token", ["2_abcdef", "abc", " _1abc"])
async def test_coinsoftworks_access_token_prefix(
    hass: HomeAssistant, clients: MockClients, access_token: str
) -> None:
    """A simple access token starts with 1_: anything else is caught before sending."""
    case = CASES[Provider.COINSOFTWORKS]
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**case.user_input, CONF_ACCESS_TOKEN: access_token}
    )

    assert result["errors"] == {CONF_ACCESS_TOKEN: "invalid_access_token"}
    clients.factories[case.provider].assert_not_called()

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@ALL_CASES
async def test_duplicate_account(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """A second entry for the same account is refused."""
    mock_entry(case).add_to_hass(hass)
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_coinetize_username_case_does_not_make_a_new_account(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """Coinetize usernames are the same account whatever their case."""
    case = CASES[Provider.COINETIZE]
    mock_entry(case).add_to_hass(hass)
    result = await start_provider_step(hass, case.provider)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**case.user_input, CONF_USERNAME: "WEBMASTER"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


# Reauthentication


@ALL_CASES
async def test_reauth(
    hass: HomeAssistant,
    clients: MockClients,
    mock_setup_entry: AsyncMock,
    case: ProviderCase,
) -> None:
    """New secrets for the same account are stored and the entry reloaded."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert set(result["data_schema"].schema) == set(case.secrets)
    assert result["description_placeholders"]["account"] == case.title
    assert (
        result["description_placeholders"]["provider"] == (MANUFACTURERS[case.provider])
    )

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert dict(entry.data) == {**case.entry_data, **case.secrets}
    assert entry.unique_id == case.unique_id
    assert clients.factories[case.provider].call_args.args[1] == {
        **case.entry_data,
        **case.secrets,
    }
    mock_setup_entry.assert_awaited()


@ALL_CASES
async def test_reauth_wrong_account(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Secrets of another account do not replace the stored ones."""
    entry = mock_entry(case, unique_id=f"{case.provider.value}_someone_else")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(entry.data) == case.entry_data


@pytest.mark.parametrize(("error", "error_key"), FAILURES, ids=repr)
@ALL_CASES
async def test_reauth_errors(
    hass: HomeAssistant,
    clients: MockClients,
    case: ProviderCase,
    error: Exception,
    error_key: str,
) -> None:
    """Reauthentication shows provider failures and recovers."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    call = clients.failing(case, error)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reauth_confirm"
    assert result["errors"] == {"base": error_key}

    call.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"


async def test_reauth_coinetize_username_refused_is_a_base_error(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """A refused field the reauth form does not show is reported for the form."""
    case = CASES[Provider.COINETIZE]
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    clients.failing(case, InvalidInputError(CONF_USERNAME, "contains /"))
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )
    assert result["errors"] == {"base": "invalid_auth"}


async def test_reauth_coinsoftworks_access_token_prefix(
    hass: HomeAssistant, clients: MockClients
) -> None:
    """Reauthentication checks the simple access token's prefix too."""
    case = CASES[Provider.COINSOFTWORKS]
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**case.secrets, CONF_ACCESS_TOKEN: "token"}
    )
    assert result["errors"] == {CONF_ACCESS_TOKEN: "invalid_access_token"}
    clients.factories[case.provider].assert_not_called()


@pytest.mark.parametrize(
    ("entry_unique_id", "account_user_id"),
    [
        ("jsecoin_key_0123456789abcdef", None),  # still without history
        ("jsecoin_key_0123456789abcdef", 77),  # history since
        (f"jsecoin_{JSECOIN_USER_ID}", None),  # new key, history not visible
    ],
)
async def test_reauth_jsecoin_account_known_only_by_key(
    hass: HomeAssistant,
    clients: MockClients,
    entry_unique_id: str,
    account_user_id: int | None,
) -> None:
    """Without a user id on both sides there is nothing to compare: the key is taken."""
    case = CASES[Provider.JSECOIN]
    entry = mock_entry(case, unique_id=entry_unique_id)
    entry.add_to_hass(hass)
    clients.jsecoin.history.return_value = MagicMock(account_user_id=account_user_id)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.secrets
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_API_KEY] == NEW_SECRET
    assert entry.unique_id == entry_unique_id


# Reconfiguration


@ALL_CASES
async def test_reconfigure(
    hass: HomeAssistant,
    clients: MockClients,
    mock_setup_entry: AsyncMock,
    case: ProviderCase,
) -> None:
    """New credentials and base URL of the same account are stored."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert section_default(result) == DEFAULT_BASE_URLS[case.provider]
    for field, value in case.credentials.items():
        # Secrets are never sent back to the browser.
        assert suggested(result, field) == (value if field == CONF_USERNAME else None)

    new_values = {**case.credentials, **case.secrets}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {**new_values, CONF_ADVANCED: {CONF_BASE_URL: MIRROR_URL}}
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {
        **case.entry_data,
        **new_values,
        CONF_BASE_URL: MIRROR_URL,
    }
    mock_setup_entry.assert_awaited()


@ALL_CASES
async def test_reconfigure_keeps_secrets_left_empty(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Changing only the base URL does not require typing the secrets again."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    non_secrets = {
        field: value
        for field, value in case.credentials.items()
        if field not in case.secrets
    }
    blanks = dict.fromkeys(case.secrets, "")
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**non_secrets, **blanks, CONF_ADVANCED: {CONF_BASE_URL: MIRROR_URL}},
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert dict(entry.data) == {**case.entry_data, CONF_BASE_URL: MIRROR_URL}
    assert clients.factories[case.provider].call_args.args[1] == dict(entry.data)


@ALL_CASES
async def test_reconfigure_wrong_account(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Credentials of another account are refused and nothing changes."""
    entry = mock_entry(case, unique_id=f"{case.provider.value}_someone_else")
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], case.user_input
    )

    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert dict(entry.data) == case.entry_data


@pytest.mark.parametrize(("error", "error_key"), FAILURES, ids=repr)
@ALL_CASES
async def test_reconfigure_errors(
    hass: HomeAssistant,
    clients: MockClients,
    case: ProviderCase,
    error: Exception,
    error_key: str,
) -> None:
    """Reconfiguration shows provider failures, keeps the input and recovers."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    call = clients.failing(case, error)
    result = await entry.start_reconfigure_flow(hass)
    user_input = {**case.user_input, CONF_ADVANCED: {CONF_BASE_URL: MIRROR_URL}}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )

    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "reconfigure"
    assert result["errors"] == {"base": error_key}
    assert result["description_placeholders"]["account"] == case.title

    call.side_effect = None
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], user_input
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_BASE_URL] == MIRROR_URL


@ALL_CASES
async def test_reconfigure_invalid_base_url(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Reconfiguration checks the base URL before sending anything."""
    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reconfigure_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**case.credentials, CONF_ADVANCED: {CONF_BASE_URL: "mirror.local"}},
    )
    assert result["errors"] == {CONF_ADVANCED: "invalid_url"}
    clients.factories[case.provider].assert_not_called()
    assert dict(entry.data) == case.entry_data


# Options


@ALL_CASES
def test_options_flow_for_every_provider(case: ProviderCase) -> None:
    """Every provider's accounts have options: each its own flow."""
    entry = mock_entry(case)
    assert CoinHubConfigFlow.async_supports_options_flow(entry)
    assert CoinHubConfigFlow.async_get_options_flow(entry) is not None


def test_no_options_flow_for_a_provider_without_options() -> None:
    """A provider whose spec has no options flow offers none."""
    entry = mock_entry(CASES[Provider.COINETIZE])
    spec = replace(PROVIDERS[Provider.COINETIZE], options_flow=None)
    with patch.dict(PROVIDERS, {Provider.COINETIZE: spec}):
        assert not CoinHubConfigFlow.async_supports_options_flow(entry)
        with pytest.raises(UnknownHandler):
            CoinHubConfigFlow.async_get_options_flow(entry)


@pytest.fixture
def jsecoin_entry(hass: HomeAssistant) -> MockConfigEntry:
    """Return a JSEcoin entry in Home Assistant, with default options."""
    entry = mock_entry(CASES[Provider.JSECOIN])
    entry.add_to_hass(hass)
    return entry


OPTIONS_INPUT = {
    CONF_LOOKUPS: [" site-1 ", "", "sub-2", "site-1"],
    CONF_ALLOW_TRANSFERS: True,
    CONF_MAX_TRANSFER_AMOUNT: 25,
    CONF_DAILY_TRANSFER_LIMIT: 250.5,
}


async def test_options(
    hass: HomeAssistant,
    clients: MockClients,
    mock_setup_entry: AsyncMock,
    jsecoin_entry: MockConfigEntry,
) -> None:
    """Lookups are cleaned and checked with the provider; the entry is reloaded."""
    result = await hass.config_entries.options.async_init(jsecoin_entry.entry_id)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "init"
    assert suggested(result, CONF_ALLOW_TRANSFERS) is False

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS_INPUT
    )
    await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert dict(jsecoin_entry.options) == {
        CONF_LOOKUPS: ["site-1", "sub-2"],
        CONF_ALLOW_TRANSFERS: True,
        CONF_MAX_TRANSFER_AMOUNT: 25,
        CONF_DAILY_TRANSFER_LIMIT: 250.5,
    }
    assert [call.args for call in clients.jsecoin.balance.await_args_list] == [
        ("site-1",),
        ("sub-2",),
    ]
    assert clients.factories[Provider.JSECOIN].call_args.args[1] == dict(
        jsecoin_entry.data
    )
    mock_setup_entry.assert_awaited()


async def test_options_defaults(
    hass: HomeAssistant, clients: MockClients, jsecoin_entry: MockConfigEntry
) -> None:
    """Submitting the form untouched keeps transfers off and checks nothing."""
    result = await hass.config_entries.options.async_init(jsecoin_entry.entry_id)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == CASES[Provider.JSECOIN].options
    clients.jsecoin.balance.assert_not_awaited()


@pytest.mark.parametrize(
    ("changes", "errors"),
    [
        ({CONF_MAX_TRANSFER_AMOUNT: 0}, {CONF_MAX_TRANSFER_AMOUNT: "invalid_amount"}),
        (
            {CONF_DAILY_TRANSFER_LIMIT: -5},
            {CONF_DAILY_TRANSFER_LIMIT: "invalid_amount"},
        ),
        (
            {CONF_MAX_TRANSFER_AMOUNT: float("nan"), CONF_DAILY_TRANSFER_LIMIT: 0},
            {
                CONF_MAX_TRANSFER_AMOUNT: "invalid_amount",
                CONF_DAILY_TRANSFER_LIMIT: "invalid_amount",
            },
        ),
        (
            {CONF_DAILY_TRANSFER_LIMIT: float("inf")},
            {CONF_DAILY_TRANSFER_LIMIT: "invalid_amount"},
        ),
        (
            {CONF_MAX_TRANSFER_AMOUNT: 300, CONF_DAILY_TRANSFER_LIMIT: 200},
            {CONF_MAX_TRANSFER_AMOUNT: "max_above_daily"},
        ),
    ],
)
async def test_options_limit_errors(
    hass: HomeAssistant,
    clients: MockClients,
    jsecoin_entry: MockConfigEntry,
    changes: dict[str, Any],
    errors: dict[str, str],
) -> None:
    """Limits must be positive, and one transfer cannot exceed the daily limit."""
    result = await hass.config_entries.options.async_init(jsecoin_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**OPTIONS_INPUT, **changes}
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    clients.jsecoin.balance.assert_not_awaited()

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS_INPUT
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.parametrize(
    ("error", "errors"),
    [
        (ProviderRefusedError("unknown lookup"), {CONF_LOOKUPS: "unknown_lookup"}),
        (InvalidInputError("lookup", "contains /"), {CONF_LOOKUPS: "invalid_lookup"}),
        (CannotConnectError("timeout"), {"base": "cannot_connect"}),
        (RateLimitedError("slow down"), {"base": "rate_limited"}),
        (AuthenticationError("API key not recognized"), {"base": "invalid_auth"}),
        (AccessLevelError("no read access"), {"base": "no_read_access"}),
        (CoinHubError("odd"), {"base": "unknown"}),
        (RuntimeError("boom"), {"base": "unknown"}),
    ],
    ids=repr,
)
async def test_options_lookup_errors(
    hass: HomeAssistant,
    clients: MockClients,
    jsecoin_entry: MockConfigEntry,
    error: Exception,
    errors: dict[str, str],
) -> None:
    """A lookup the provider does not know, or cannot check, is named in the error."""
    clients.jsecoin.balance.side_effect = [None, error]
    result = await hass.config_entries.options.async_init(jsecoin_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS_INPUT
    )

    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == errors
    assert result["description_placeholders"] == {"lookup": "sub-2"}
    assert jsecoin_entry.options == CASES[Provider.JSECOIN].options

    clients.jsecoin.balance.side_effect = None
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], OPTIONS_INPUT
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


# Translations


def load_translations() -> dict[str, Any]:
    """Return the English strings of the integration."""
    path = Path(__file__).parents[2] / "custom_components/coinhub/translations/en.json"
    translations: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return translations


def assert_fields_translated(step: dict[str, Any], fields: set[str]) -> None:
    """Every field of a step has a label and a description."""
    assert fields <= set(step["data"])
    assert fields <= set(step["data_description"])


@ALL_CASES
async def test_every_field_is_translated(
    hass: HomeAssistant, clients: MockClients, case: ProviderCase
) -> None:
    """Each form's fields, including the advanced section, have label and help."""
    steps = load_translations()["config"]["step"]
    result = await start_provider_step(hass, case.provider)
    fields = set(result["data_schema"].schema) - {CONF_ADVANCED}
    assert_fields_translated(steps[case.provider.value], fields)
    advanced = steps[case.provider.value]["sections"][CONF_ADVANCED]
    assert advanced["name"]
    assert_fields_translated(advanced, {CONF_BASE_URL})

    entry = mock_entry(case)
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    assert_fields_translated(steps["reauth_confirm"], set(result["data_schema"].schema))
    result = await entry.start_reconfigure_flow(hass)
    assert_fields_translated(
        steps["reconfigure"], set(result["data_schema"].schema) - {CONF_ADVANCED}
    )
    assert_fields_translated(
        steps["reconfigure"]["sections"][CONF_ADVANCED], {CONF_BASE_URL}
    )


def test_every_error_and_abort_is_translated() -> None:
    """Every error and abort reason the flows can show has a text."""
    translations = load_translations()
    assert {key for _error, key in FAILURES} | {
        "invalid_url",
        "invalid_characters",
        "invalid_access_token",
    } <= set(translations["config"]["error"])
    assert {
        "already_configured",
        "reauth_successful",
        "reconfigure_successful",
        "wrong_account",
    } <= set(translations["config"]["abort"])
    assert {
        "invalid_amount",
        "max_above_daily",
        "unknown_lookup",
        "invalid_lookup",
        "cannot_connect",
        "rate_limited",
        "invalid_auth",
        "no_read_access",
        "unknown",
    } <= set(translations["options"]["error"])
    assert set(OPTIONS_INPUT) <= set(translations["options"]["step"]["init"]["data"])
    assert "[%key:" not in json.dumps(translations)
