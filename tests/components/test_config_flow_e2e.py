"""The config flows against the sandbox over HTTP: real clients, real provider behaviour."""

from __future__ import annotations

from collections.abc import Generator
import json
from typing import Any
from unittest.mock import AsyncMock, patch

from homeassistant.config_entries import SOURCE_USER, ConfigEntryState, ConfigFlowResult
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest

from custom_components.coinhub.clients import coinsoftworks_client
from custom_components.coinhub.const import (
    CONF_ACCESS_TOKEN,
    CONF_ADVANCED,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    CONF_LOOKUPS,
    CONF_PROVIDER,
    DOMAIN,
    Provider,
)
from sandbox.faults import FaultRule
from tests.components.sandbox_entries import (
    WEBMASTER,
    coinetize_entry,
    jsecoin_entry,
    seed,
)
from tests.conftest import Sandbox


@pytest.fixture
def mock_setup_entry() -> Generator[AsyncMock]:
    """Keep created entries from setting up, for tests about the flow alone."""
    with patch(
        "custom_components.coinhub.async_setup_entry", return_value=True
    ) as setup_entry:
        yield setup_entry


async def add_account(
    hass: HomeAssistant,
    sandbox: Sandbox,
    provider: Provider,
    credentials: dict[str, str],
) -> ConfigFlowResult:
    """Run the user flow of ``provider`` against the sandbox up to its result."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": SOURCE_USER}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": provider.value}
    )
    return await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**credentials, CONF_ADVANCED: {CONF_BASE_URL: sandbox.base_url(provider)}},
    )


# JSEcoin


def jsecoin_account(*, access_level: int, with_history: bool = True) -> dict[str, Any]:
    """Return the first seeded JSEcoin account with this access level (and history)."""
    return next(
        account
        for account in seed(Provider.JSECOIN)["accounts"]
        if account["access_level"] == access_level
        and (bool(account.get("history")) or not with_history)
    )


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """A seeded key creates an entry for the account's user id."""
    account = jsecoin_account(access_level=2)
    result = await add_account(
        hass, sandbox, Provider.JSECOIN, {CONF_API_KEY: account["api_key"]}
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "JSEcoin"
    assert result["result"].unique_id == f"jsecoin_{account['uid']}"
    assert result["data"] == {
        CONF_PROVIDER: "jsecoin",
        CONF_API_KEY: account["api_key"],
        CONF_BASE_URL: sandbox.base_url("jsecoin"),
    }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin_invalid_key(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """A key the provider does not know is refused, and a good one then passes."""
    result = await add_account(
        hass, sandbox, Provider.JSECOIN, {CONF_API_KEY: "sandbox-jse-unknown-key"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}

    account = jsecoin_account(access_level=2)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_API_KEY: account["api_key"],
            CONF_ADVANCED: {CONF_BASE_URL: sandbox.base_url("jsecoin")},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin_key_without_read_access(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A key left at access level 0 is turned off: the user is told to raise it."""
    account = jsecoin_account(access_level=0, with_history=False)
    result = await add_account(
        hass, sandbox, Provider.JSECOIN, {CONF_API_KEY: account["api_key"]}
    )
    assert result["errors"] == {"base": "no_read_access"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin_unreachable(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """A dropped connection is a connection problem, not bad credentials."""
    sandbox.context.faults.add(FaultRule(kind="drop_before", provider="jsecoin"))
    account = jsecoin_account(access_level=2)
    result = await add_account(
        hass, sandbox, Provider.JSECOIN, {CONF_API_KEY: account["api_key"]}
    )
    assert result["errors"] == {"base": "cannot_connect"}


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin_options_check_lookups(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Lookups are checked with the provider; a path-like one never reaches a write."""
    account = jsecoin_account(access_level=2)
    entry = jsecoin_entry(sandbox, account)
    entry.add_to_hass(hass)
    known = list(account["lookups"])
    options = {
        "allow_transfers": False,
        "max_transfer_amount": 10,
        "daily_transfer_limit": 20,
    }

    result = await hass.config_entries.options.async_init(entry.entry_id)
    for lookups, errors in (
        ([*known, "no-such-site.example"], {CONF_LOOKUPS: "unknown_lookup"}),
        (["../../transfer/auth/bob@example.com/1/x"], {CONF_LOOKUPS: "invalid_lookup"}),
    ):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"], {**options, CONF_LOOKUPS: lookups}
        )
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == errors

    assert not any(
        "transfer" in route for (_name, _method, route) in sandbox.context.requests
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**options, CONF_LOOKUPS: known}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_LOOKUPS] == known


@pytest.mark.usefixtures("mock_setup_entry")
async def test_jsecoin_reauth_with_another_accounts_key(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Another account's key is not taken for this entry; the account's own key is."""
    accounts = [
        account
        for account in seed(Provider.JSECOIN)["accounts"]
        if account["access_level"] >= 1 and account.get("history")
    ]
    mine, other = accounts[0], accounts[1]
    entry = jsecoin_entry(sandbox, mine)
    entry.add_to_hass(hass)

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: other["api_key"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "wrong_account"
    assert entry.data[CONF_API_KEY] == mine["api_key"]

    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_API_KEY: mine["api_key"]}
    )
    assert result["reason"] == "reauth_successful"


# Coinetize

COINETIZE_USER = WEBMASTER


@pytest.mark.usefixtures("mock_setup_entry")
async def test_coinetize(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """Seeded credentials create an entry for the username, with no websites yet."""
    result = await add_account(
        hass,
        sandbox,
        Provider.COINETIZE,
        {
            CONF_USERNAME: COINETIZE_USER["username"],
            CONF_AUTH_TOKEN: COINETIZE_USER["auth_token"],
        },
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"Coinetize {COINETIZE_USER['username']}"
    assert result["result"].unique_id == f"coinetize_{COINETIZE_USER['username']}"
    assert result["data"] == {
        CONF_PROVIDER: "coinetize",
        CONF_USERNAME: COINETIZE_USER["username"],
        CONF_AUTH_TOKEN: COINETIZE_USER["auth_token"],
        CONF_BASE_URL: sandbox.base_url("coinetize"),
        "websites": {},
    }


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    "credentials",
    [
        {CONF_USERNAME: COINETIZE_USER["username"], CONF_AUTH_TOKEN: "wrong-token"},
        {CONF_USERNAME: "nobody", CONF_AUTH_TOKEN: COINETIZE_USER["auth_token"]},
    ],
    ids=["wrong_token", "unknown_user"],
)
@pytest.mark.parametrize("auth_refusal", ["http_401", "document"])
async def test_coinetize_invalid_auth(
    hass: HomeAssistant,
    sandbox: Sandbox,
    credentials: dict[str, str],
    auth_refusal: str,
) -> None:
    """Refused credentials are reported, and the right ones then pass.

    Both ways a refusal may come: HTTP 401, or the document's error shape (HTTP 200,
    ``{"status": "error", "message": "Invalid login details"}``).
    """
    await sandbox.admin("POST", "/coinetize/settings", {"auth_refusal": auth_refusal})
    result = await add_account(hass, sandbox, Provider.COINETIZE, credentials)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "invalid_auth"}
    assert not hass.config_entries.async_entries(DOMAIN)

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {
            CONF_USERNAME: COINETIZE_USER["username"],
            CONF_AUTH_TOKEN: COINETIZE_USER["auth_token"],
            CONF_ADVANCED: {CONF_BASE_URL: sandbox.base_url("coinetize")},
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("Invalid login details", "invalid_auth"),
        ("User account suspended", "invalid_auth"),
        ("Token expired", "invalid_auth"),
        ("Authentication required", "invalid_auth"),
        ("Bad signature", "invalid_auth"),
        ("Unknown subdomain: _coinhub_credentials_check", None),
        ("Website not found", None),
        ("Service temporarily unavailable", "unknown"),
        ("Maintenance until 10:00", "unknown"),
    ],
)
async def test_coinetize_credentials_check_reads_the_refusal(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    message: str,
    expected: str | None,
) -> None:
    """Only a refusal about the probed subdomain accepts the credentials.

    One speaking of the login, user, token, signature or authentication refuses them;
    anything else is "unknown", its words in the log without the token, and no entry.
    """
    token = COINETIZE_USER["auth_token"]
    body = json.dumps({"status": "error", "message": f"{message} ({token})"})
    sandbox.context.faults.add(
        FaultRule(kind="status", provider="coinetize", status=200, body=body)
    )
    result = await add_account(
        hass,
        sandbox,
        Provider.COINETIZE,
        {CONF_USERNAME: COINETIZE_USER["username"], CONF_AUTH_TOKEN: token},
    )

    if expected is None:
        assert result["type"] is FlowResultType.CREATE_ENTRY
        return
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": expected}
    assert not hass.config_entries.async_entries(DOMAIN)
    if expected == "unknown":
        assert message in caplog.text  # the provider's words, for the user to read
    assert token not in caplog.text


async def test_coinetize_reauth(
    hass: HomeAssistant, sandbox: Sandbox, mock_setup_entry: AsyncMock
) -> None:
    """Reauthentication checks the new token with the provider before storing it."""
    entry = coinetize_entry(sandbox, COINETIZE_USER, auth_token="revoked-token")
    entry.add_to_hass(hass)
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_AUTH_TOKEN: "still-wrong"}
    )
    assert result["errors"] == {"base": "invalid_auth"}

    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_AUTH_TOKEN: COINETIZE_USER["auth_token"]}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reauth_successful"
    assert entry.data[CONF_AUTH_TOKEN] == COINETIZE_USER["auth_token"]


# coinsoftworks


def coinsoftworks_account() -> dict[str, Any]:
    """Return the first seeded coinsoftworks account that has API access."""
    return next(
        account
        for account in seed(Provider.COINSOFTWORKS)["accounts"]
        if account.get("api_enabled", True)
    )


def coinsoftworks_credentials(account: dict[str, Any]) -> dict[str, str]:
    """Return the flow input for a seeded coinsoftworks account."""
    return {
        CONF_API_KEY: account["api_key"],
        CONF_ACCESS_TOKEN: account["access_token"],
    }


def coinsoftworks_authentications(sandbox: Sandbox) -> int:
    """Count the authentication requests the coinsoftworks sandbox received."""
    return sandbox.route_count("coinsoftworks", "authentication", method="POST")


@pytest.mark.usefixtures("mock_setup_entry")
async def test_coinsoftworks(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """Seeded credentials create an entry named after the account's username."""
    account = coinsoftworks_account()
    result = await add_account(
        hass, sandbox, Provider.COINSOFTWORKS, coinsoftworks_credentials(account)
    )

    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == f"coinsoftworks {account['username']}"
    assert result["result"].unique_id == f"coinsoftworks_{account['username'].lower()}"
    assert result["data"] == {
        CONF_PROVIDER: "coinsoftworks",
        **coinsoftworks_credentials(account),
        CONF_BASE_URL: sandbox.base_url("coinsoftworks"),
    }


@pytest.mark.usefixtures("mock_setup_entry")
async def test_coinsoftworks_entry_reuses_the_flow_token(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """The bearer token from the flow serves the entry's client: no second login.

    The provider answers 429 to logins in quick succession, so an entry set up right
    after its flow must not authenticate again.
    """
    account = coinsoftworks_account()
    result = await add_account(
        hass, sandbox, Provider.COINSOFTWORKS, coinsoftworks_credentials(account)
    )
    assert coinsoftworks_authentications(sandbox) == 1

    # What the entry's coordinator builds and reads first.
    client = coinsoftworks_client(hass, result["result"].data)
    user = await client.user()
    assert user.username == account["username"]
    assert coinsoftworks_authentications(sandbox) == 1


@pytest.mark.usefixtures("mock_setup_entry")
async def test_coinsoftworks_invalid_auth(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A wrong simple access token or API key is refused, then the right ones pass."""
    good = coinsoftworks_credentials(coinsoftworks_account())
    for wrong in (
        {**good, CONF_ACCESS_TOKEN: "1_not-the-token"},
        {**good, CONF_API_KEY: "not-the-key"},
    ):
        result = await add_account(hass, sandbox, Provider.COINSOFTWORKS, wrong)
        assert result["type"] is FlowResultType.FORM
        assert result["errors"] == {"base": "invalid_auth"}

    # The provider refuses logins in quick succession: let its clock move on.
    sandbox.context.clock.advance(60)
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"],
        {**good, CONF_ADVANCED: {CONF_BASE_URL: sandbox.base_url("coinsoftworks")}},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY


@pytest.mark.usefixtures("mock_setup_entry")
async def test_coinsoftworks_api_access_disabled(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """An account with API access turned off is refused like wrong credentials."""
    account = next(
        (
            account
            for account in seed(Provider.COINSOFTWORKS)["accounts"]
            if account.get("api_enabled") is False
        ),
        None,
    )
    assert account is not None, "the default seed has an account without API access"
    result = await add_account(
        hass, sandbox, Provider.COINSOFTWORKS, coinsoftworks_credentials(account)
    )
    assert result["errors"] == {"base": "invalid_auth"}


async def test_coinsoftworks_setup_after_flow_does_not_authenticate_again(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Setting the entry up right after its flow reuses the flow's bearer token.

    The coordinator's first refresh is what talks to the provider during setup; the
    platforms only read its data, so they are left out here.
    """
    account = coinsoftworks_account()
    with patch.object(
        hass.config_entries, "async_forward_entry_setups", return_value=None
    ):
        result = await add_account(
            hass, sandbox, Provider.COINSOFTWORKS, coinsoftworks_credentials(account)
        )
        await hass.async_block_till_done()

    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    assert entry.state is ConfigEntryState.LOADED
    assert entry.runtime_data.data.user.username == account["username"]
    assert coinsoftworks_authentications(sandbox) == 1
