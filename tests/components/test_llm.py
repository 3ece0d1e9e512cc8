"""CoinHub's LLM tools through Home Assistant's Assist API, against the sandbox."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from unittest.mock import patch

from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import llm
from homeassistant.helpers.aiohttp_client import async_get_clientsession
from homeassistant.setup import async_setup_component
import probatio as vol
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
)

from custom_components.coinhub import llm as coinhub_llm
from custom_components.coinhub.api.exceptions import CannotConnectError
from custom_components.coinhub.api.jsecoin import JSEcoinClient
from custom_components.coinhub.const import CONF_LOOKUPS, EVENT_TRANSACTION
from tests.components.conftest import setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BOB,
    coinsoftworks_entry,
    jsecoin_entry,
)
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

TOOLS = {
    "coinhub__get_balances",
    "coinhub__get_income",
    "coinhub__get_recent_transactions",
}
ALICE_TITLE = f"JSEcoin {ALICE['uid']}"
BALANCE = f"sensor.jsecoin_{ALICE['uid']}_balance"
INCOME_TODAY = f"sensor.jsecoin_{ALICE['uid']}_income_today"


def llm_context(assistant: str = "conversation") -> llm.LLMContext:
    """Return the context a conversation agent calls tools in."""
    return llm.LLMContext(
        platform="test",
        context=Context(),
        language="en",
        assistant=assistant,
        device_id=None,
    )


async def assist_api(hass: HomeAssistant) -> llm.APIInstance:
    """Return the Assist API as a conversation agent gets it."""
    return await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context())


async def call(
    hass: HomeAssistant, tool: str, args: dict[str, Any] | None = None
) -> llm.ToolResult:
    """Call a tool of the Assist API."""
    api = await assist_api(hass)
    return await api.async_call_tool(llm.ToolInput(tool, args or {}))


@pytest.fixture
async def alice(hass: HomeAssistant, sandbox: Sandbox) -> MockConfigEntry:
    """Alice's JSEcoin entry, tracking a site, with Assist and its LLM API set up."""
    for component in ("homeassistant", "llm"):
        assert await async_setup_component(hass, component, {})
    return await setup_entry(
        hass, jsecoin_entry(sandbox, ALICE, options={CONF_LOOKUPS: ["mysite.com"]})
    )


async def test_tools_are_read_only(hass: HomeAssistant, alice: MockConfigEntry) -> None:
    """Only the three reading tools, each annotated as not changing anything."""
    api = await assist_api(hass)
    coinhub = {tool.name: tool for tool in api.tools if tool.integration == "coinhub"}

    assert set(coinhub) == TOOLS
    for tool in coinhub.values():
        assert tool.annotations.read_only
        assert not tool.annotations.destructive
        assert tool.annotations.idempotent
    assert not coinhub["coinhub__get_balances"].annotations.open_world
    assert "never move coins" in api.api_prompt


async def test_balances(hass: HomeAssistant, alice: MockConfigEntry) -> None:
    """The account's balance and its tracked site's, as exact text."""
    result = await call(hass, "coinhub__get_balances")

    assert not result.error
    assert result.data == {
        "accounts": [
            {
                "account": ALICE_TITLE,
                "balance": _text(ALICE["balance"]),
                "unit": "JSE",
                "lookups": {"mysite.com": "12.5"},
                "available": True,
            }
        ]
    }


async def test_income_follows_mining(
    hass: HomeAssistant, alice: MockConfigEntry, sandbox: Sandbox
) -> None:
    """Income comes from the income sensor, so it follows a mining reward."""
    before = Decimal(hass.states.get(INCOME_TODAY).state)
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    await poll(hass, alice.runtime_data.update_interval)

    result = await call(hass, "coinhub__get_income")

    assert result.data == {
        "unit": "JSE",
        "accounts": [
            {"account": ALICE_TITLE, "income_today": _text(before + Decimal("0.5"))}
        ],
    }


async def test_recent_transactions_name_no_counterparty(
    hass: HomeAssistant, alice: MockConfigEntry, sandbox: Sandbox
) -> None:
    """A transfer in is the newest entry, without Bob's e-mail or key; announced once."""
    events = async_capture_events(hass, EVENT_TRANSACTION)
    bob = JSEcoinClient(
        async_get_clientsession(hass),
        BOB["api_key"],
        base_url=sandbox.base_url("jsecoin"),
    )
    await bob.transfer(ALICE["email"], Decimal(2), "llm-tools")

    result = await call(
        hass, "coinhub__get_recent_transactions", {"account": ALICE_TITLE, "limit": 2}
    )

    assert not result.error
    (account,) = result.data["accounts"]
    assert account["account"] == ALICE_TITLE
    assert len(account["transactions"]) == 2
    newest = account["transactions"][0]
    assert {k: newest[k] for k in ("command", "direction", "value", "reference")} == {
        "command": "transfer",
        "direction": "in",
        "value": "2",
        "reference": "llm-tools",
    }
    assert BOB["email"] not in str(result.data)
    assert BOB["public_key"] not in str(result.data)
    assert ALICE["api_key"] not in str(result.data)
    # The tool's read announced the transfer; the next poll does not again.
    await poll(hass, alice.runtime_data.update_interval)
    assert [event.data["reference"] for event in events] == ["llm-tools"]


async def test_unknown_account_is_refused(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """Only the accounts the assistant sees can be named."""
    with pytest.raises(vol.Invalid):
        await call(hass, "coinhub__get_balances", {"account": "someone else"})


async def test_provider_failure_is_a_tool_error(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """A failed history read is an error result with a readable message."""
    with patch.object(
        alice.runtime_data.client, "history", side_effect=CannotConnectError("down")
    ):
        result = await call(hass, "coinhub__get_recent_transactions")

    assert result.error
    assert result.data["account"] == ALICE_TITLE
    assert result.data["error"]


async def test_nothing_offered_for_hidden_sensors(
    hass: HomeAssistant, alice: MockConfigEntry, sandbox: Sandbox
) -> None:
    """Hiding the balance and income sensors from Assist hides the tools too."""
    await setup_entry(hass, coinsoftworks_entry(sandbox))
    async_expose_entity(hass, "conversation", BALANCE, False)
    async_expose_entity(hass, "conversation", INCOME_TODAY, False)

    api = await assist_api(hass)

    assert not {tool.name for tool in api.tools} & TOOLS


async def test_other_assistants_see_nothing_unexposed(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """Exposure is per assistant: one that was given nothing gets no tools."""
    api = await llm.async_get_api(hass, llm.LLM_API_ASSIST, llm_context("cloud.alexa"))

    assert not {tool.name for tool in api.tools} & TOOLS


async def test_income_alone_when_only_it_is_exposed(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """With the balance hidden, only the income tool is offered."""
    async_expose_entity(hass, "conversation", BALANCE, False)

    api = await assist_api(hass)

    assert {tool.name for tool in api.tools} & TOOLS == {"coinhub__get_income"}


async def test_no_tools_for_other_apis(
    hass: HomeAssistant, alice: MockConfigEntry
) -> None:
    """The tools belong to the Assist API only."""
    assert coinhub_llm.async_get_tools(hass, llm_context(), "another_api") is None


def _text(value: Any) -> str:
    return f"{Decimal(str(value)).normalize():f}"
