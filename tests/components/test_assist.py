"""Assist's sentences, end to end: the default agent answers from CoinHub's sensors.

"What is my JSEcoin balance" is answered by the built-in intents from the balance
sensor's name; "how much did I mine today" and "what is my coinsoftworks plan" are
CoinHub's own sentences. The sensors they read are exposed to Assist when added.
"""

from __future__ import annotations

from decimal import Decimal
from unittest.mock import AsyncMock

from homeassistant.components import conversation
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
    async_should_expose,
)
from homeassistant.core import Context, HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er
from homeassistant.helpers.intent import IntentResponseType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.coinhub.assist import spoken_amount
from custom_components.coinhub.const import Provider
from tests.components.conftest import jsecoin_config_entry, setup_entry
from tests.components.sandbox_entries import (
    ALICE,
    BOB,
    JOHN,
    coinsoftworks_entry,
    jsecoin_entry,
    seed,
)
from tests.components.test_e2e_entities import poll
from tests.conftest import Sandbox

BALANCE = "sensor.jsecoin_balance"
INCOME_TODAY = "sensor.jsecoin_income_today"
PLAN = f"sensor.coinsoftworks_{JOHN['username'].lower()}_purchased_plan"


async def setup_assist(hass: HomeAssistant) -> None:
    """Set up Assist with the default agent, as a default configuration has it."""
    for component in ("homeassistant", "intent", "conversation"):
        assert await async_setup_component(hass, component, {})


async def ask(hass: HomeAssistant, sentence: str) -> conversation.ConversationResult:
    """Ask the default agent."""
    return await conversation.async_converse(hass, sentence, None, Context(), None)


def speech(result: conversation.ConversationResult) -> str:
    """Return what the agent said."""
    spoken: str = result.response.speech["plain"]["speech"]
    return spoken


def bob_income_id(entry: MockConfigEntry) -> str:
    """Return the entity id of the income today sensor of Bob's entry."""
    return f"sensor.{entry.title.lower().replace(' ', '_')}_income_today"


async def setup_first_jsecoin_entry(
    hass: HomeAssistant, sandbox: Sandbox
) -> MockConfigEntry:
    """Set up Alice's entry, titled as the config flow titles a first JSEcoin account."""
    entry = jsecoin_entry(sandbox, ALICE)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(entry, title="JSEcoin")
    return await setup_entry(hass, entry)


async def test_what_is_my_jsecoin_balance(
    hass: HomeAssistant, mock_clients: dict[Provider, AsyncMock]
) -> None:
    """The built-in intents answer from the balance sensor's name."""
    entry = jsecoin_config_entry()
    entry.add_to_hass(hass)
    # The config flow names the first JSEcoin account plainly "JSEcoin".
    hass.config_entries.async_update_entry(entry, title="JSEcoin")
    await setup_entry(hass, entry)
    await setup_assist(hass)
    async_expose_entity(hass, conversation.DOMAIN, BALANCE, True)
    balance = hass.states.get(BALANCE)
    assert balance is not None
    assert balance.name == "JSEcoin Balance"

    result = await ask(hass, "what is my JSEcoin balance")

    assert result.response.response_type is IntentResponseType.QUERY_ANSWER
    assert balance.state in speech(result)


async def test_sentences_against_the_sandbox(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """Balance, today's mining and the plan, answered from the sandbox's accounts."""
    await setup_assist(hass)
    jsecoin = await setup_first_jsecoin_entry(hass, sandbox)
    await setup_entry(hass, coinsoftworks_entry(sandbox))
    # Exposed when added, with nothing for the user to do.
    for entity_id in (BALANCE, INCOME_TODAY, PLAN):
        assert async_should_expose(hass, conversation.DOMAIN, entity_id)
    assert hass.states.get(INCOME_TODAY).name == "JSEcoin Income today"

    result = await ask(hass, "what is my JSEcoin balance")
    assert result.response.response_type is IntentResponseType.QUERY_ANSWER
    assert spoken_amount(str(ALICE["balance"])) in speech(result)

    # The seeded history already holds some of today's mining.
    before = Decimal(hass.states.get(INCOME_TODAY).state)
    assert speech(await ask(hass, "how much did I mine today")) == (
        f"You mined {spoken_amount(str(before))} JSE today."
    )
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"})
    await poll(hass, jsecoin.runtime_data.update_interval)
    after = Decimal(hass.states.get(INCOME_TODAY).state)
    assert after == before + Decimal("0.5")
    assert speech(await ask(hass, "how much JSE did I earn today")) == (
        f"You mined {spoken_amount(str(after))} JSE today."
    )

    assert speech(await ask(hass, "what is my coinsoftworks plan")) == (
        f"Your coinsoftworks plan is {JOHN['purchased_plan']}."
    )


async def test_several_accounts_are_listed(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """With two JSEcoin accounts the answer totals and names each."""
    await setup_assist(hass)
    alice = await setup_first_jsecoin_entry(hass, sandbox)
    bob = await setup_entry(hass, jsecoin_entry(sandbox, BOB))
    await sandbox.admin("POST", "/jsecoin/accounts/alice/mine", {"value": "0.25"})
    await sandbox.admin("POST", "/jsecoin/accounts/bob/mine", {"value": "1"})
    await poll(hass, alice.runtime_data.update_interval)
    assert bob.runtime_data.last_update_success

    alice_income = Decimal(hass.states.get(INCOME_TODAY).state)
    bob_income = Decimal(hass.states.get(bob_income_id(bob)).state)
    assert bob_income >= 1

    # Accounts in entity id order: "jsecoin_<uid>" before plain "jsecoin".
    assert speech(await ask(hass, "how much did I mine today")) == (
        f"You mined {spoken_amount(str(alice_income + bob_income))} JSE today. "
        f"{bob.title}: {spoken_amount(str(bob_income))} JSE; "
        f"JSEcoin: {spoken_amount(str(alice_income))} JSE."
    )


async def test_several_plans_are_listed(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """With two coinsoftworks accounts each plan is named with its account."""
    other = seed("coinsoftworks")["accounts"][1]
    await setup_assist(hass)
    john = await setup_entry(hass, coinsoftworks_entry(sandbox))
    second = await setup_entry(hass, coinsoftworks_entry(sandbox, other))

    assert speech(await ask(hass, "what coinsoftworks plan do I have")) == (
        f"Your coinsoftworks plans are: {john.title}: {JOHN['purchased_plan']}; "
        f"{second.title}: {other['purchased_plan']}."
    )


async def test_hidden_sensors_are_not_spoken(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A sensor the user hid from Assist is not read, and stays hidden after a reload."""
    await setup_assist(hass)
    jsecoin = await setup_first_jsecoin_entry(hass, sandbox)
    await setup_entry(hass, coinsoftworks_entry(sandbox))
    async_expose_entity(hass, conversation.DOMAIN, INCOME_TODAY, False)
    async_expose_entity(hass, conversation.DOMAIN, PLAN, False)

    assert await hass.config_entries.async_reload(jsecoin.entry_id)
    await hass.async_block_till_done()

    assert not async_should_expose(hass, conversation.DOMAIN, INCOME_TODAY)
    assert speech(await ask(hass, "how much did I mine today")) == (
        "No JSEcoin income sensor is exposed to Assist."
    )
    assert speech(await ask(hass, "which coinsoftworks plan am I on")) == (
        "No coinsoftworks plan sensor is exposed to Assist."
    )


async def test_unknown_figures_are_said_so(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """An unavailable sensor is not read as a figure."""
    await setup_assist(hass)
    jsecoin = await setup_first_jsecoin_entry(hass, sandbox)
    coinsoftworks = await setup_entry(hass, coinsoftworks_entry(sandbox))
    await hass.config_entries.async_unload(jsecoin.entry_id)
    await hass.config_entries.async_unload(coinsoftworks.entry_id)
    await hass.async_block_till_done()

    assert speech(await ask(hass, "how much did I mine today")) == (
        "Today's JSEcoin income is not known right now."
    )
    assert speech(await ask(hass, "what is my coinsoftworks plan")) == (
        "Your coinsoftworks plan is not known right now."
    )


async def test_new_entities_not_exposed_when_the_user_said_so(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """With exposing of new entities turned off, CoinHub does not expose its own."""
    await setup_assist(hass)
    hass.data["homeassistant.exposed_entities"].async_set_expose_new_entities(
        conversation.DOMAIN, False
    )
    await setup_first_jsecoin_entry(hass, sandbox)

    assert not async_should_expose(hass, conversation.DOMAIN, BALANCE)


@pytest.mark.parametrize(
    ("value", "spoken"),
    [("0.50000000", "0.5"), ("251", "251"), ("1.234567", "1.2346"), ("x", "x")],
)
def test_spoken_amount(value: str, spoken: str) -> None:
    """Amounts are said with at most four decimals and no trailing zeros."""
    assert spoken_amount(value) == spoken


async def test_account_name_prefers_the_users_device_name(
    hass: HomeAssistant, sandbox: Sandbox
) -> None:
    """A renamed account device is the name Assist says."""
    await setup_assist(hass)
    await setup_first_jsecoin_entry(hass, sandbox)
    bob = await setup_entry(hass, jsecoin_entry(sandbox, BOB))
    entity = er.async_get(hass).async_get(bob_income_id(bob))
    assert entity is not None
    dr.async_get(hass).async_update_device(entity.device_id, name_by_user="Savings")

    assert "Savings: " in speech(await ask(hass, "how much did I mine today"))
