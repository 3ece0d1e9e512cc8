"""Assist: the sentences CoinHub answers, and which of its entities Assist sees.

"What is my JSEcoin balance" needs nothing of its own: the default conversation agent
answers it from the balance sensor's name. Questions no built-in intent has a sentence
for ("how much did I mine today", "what is my coinsoftworks plan") are registered with
the default agent as sentence triggers, the way automations add sentences, and answered
from the sensors that hold the figures. Only sensors exposed to Assist are read, so a
sensor the user hid from Assist is never spoken; the ones these sentences read are
exposed when first added, unless the user chose otherwise.

The sentences and answers are English.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

from homeassistant.components.homeassistant.const import DATA_EXPOSED_ENTITIES
from homeassistant.components.homeassistant.exposed_entities import (
    async_expose_entity,
    async_should_expose,
)
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import DOMAIN

if TYPE_CHECKING:
    from hassil.recognize import RecognizeResult
    from homeassistant.components.conversation import ConversationInput

# The assistant of Assist and of conversation agents built on it (LLMs included).
ASSISTANT: Final = "conversation"

# Translation keys of the sensors the sentences read.
KEY_BALANCE: Final = "balance"
KEY_INCOME_TODAY: Final = "income_today"
KEY_PURCHASED_PLAN: Final = "purchased_plan"

# Spoken amounts: as many decimals as the sensors show, no trailing zeros.
SPOKEN_DECIMALS: Final = 4

MINED_TODAY_SENTENCES: Final = [
    "how much [JSE] did I mine today",
    "how much (JSE|JSEcoin) did I (earn|make|mine) today",
    "how much have I mined today",
    "what did I mine today",
]
COINSOFTWORKS_PLAN_SENTENCES: Final = [
    "what is my coinsoftworks plan",
    "what coinsoftworks plan (do I have|am I on)",
    "which coinsoftworks plan (do I have|am I on)",
]


@callback
def async_expose_by_default(hass: HomeAssistant, entity_id: str) -> None:
    """Expose an entity to Assist unless the user decided, as new entities would be.

    Nothing changes when the user turned off exposing new entities, or already chose
    for this entity (exposed or not).
    """
    if (exposed_entities := hass.data.get(DATA_EXPOSED_ENTITIES)) is None:
        return
    entry = er.async_get(hass).async_get(entity_id)
    if entry is None or "should_expose" in entry.options.get(ASSISTANT, {}):
        return
    if exposed_entities.async_get_expose_new_entities(ASSISTANT):
        async_expose_entity(hass, ASSISTANT, entity_id, True)


@callback
def async_exposed_states(
    hass: HomeAssistant, translation_key: str, assistant: str = ASSISTANT
) -> list[State]:
    """Return the states of CoinHub's sensors of one kind that ``assistant`` may see.

    Sorted by entity id, so answers list accounts in a stable order.
    """
    registry = er.async_get(hass)
    states = [
        state
        for entry in registry.entities.values()
        if entry.platform == DOMAIN
        and entry.domain == "sensor"
        and entry.translation_key == translation_key
        and (state := hass.states.get(entry.entity_id)) is not None
        and async_should_expose(hass, assistant, entry.entity_id)
    ]
    return sorted(states, key=lambda state: state.entity_id)


def account_name(hass: HomeAssistant, state: State) -> str:
    """Return the name of the account (its device) a sensor belongs to."""
    entry = er.async_get(hass).async_get(state.entity_id)
    device = (
        dr.async_get(hass).async_get(entry.device_id)
        if entry is not None and entry.device_id
        else None
    )
    if device is None:
        return state.name
    return device.name_by_user or device.name or state.name


def known(state: State) -> bool:
    """Tell whether a sensor has a value."""
    return state.state not in (STATE_UNAVAILABLE, STATE_UNKNOWN)


def spoken_amount(value: str) -> str:
    """Return an amount as said aloud: rounded, without trailing zeros."""
    try:
        amount = round(Decimal(value), SPOKEN_DECIMALS)
    except InvalidOperation:
        return value
    return f"{amount.normalize():f}"


def _listing(hass: HomeAssistant, states: list[State], unit: str = "") -> str:
    return "; ".join(
        f"{account_name(hass, state)}: {spoken_amount(state.state)}{unit}"
        for state in states
    )


def answer_mined_today(hass: HomeAssistant) -> str:
    """Answer "how much did I mine today" from the income today sensors."""
    states = async_exposed_states(hass, KEY_INCOME_TODAY)
    if not states:
        return "No JSEcoin income sensor is exposed to Assist."
    if not (readable := [state for state in states if known(state)]):
        return "Today's JSEcoin income is not known right now."
    if len(readable) == 1:
        return f"You mined {spoken_amount(readable[0].state)} JSE today."
    total = sum(Decimal(state.state) for state in readable)
    return (
        f"You mined {spoken_amount(str(total))} JSE today. "
        f"{_listing(hass, readable, ' JSE')}."
    )


def answer_coinsoftworks_plan(hass: HomeAssistant) -> str:
    """Answer "what is my coinsoftworks plan" from the purchased plan sensors."""
    states = async_exposed_states(hass, KEY_PURCHASED_PLAN)
    if not states:
        return "No coinsoftworks plan sensor is exposed to Assist."
    if not (readable := [state for state in states if known(state)]):
        return "Your coinsoftworks plan is not known right now."
    if len(readable) == 1:
        return f"Your coinsoftworks plan is {readable[0].state}."
    return f"Your coinsoftworks plans are: {_listing(hass, readable)}."


type TriggerCallback = Callable[[ConversationInput, RecognizeResult], Awaitable[str]]


def _trigger(
    hass: HomeAssistant, answer: Callable[[HomeAssistant], str]
) -> TriggerCallback:
    async def respond(user_input: ConversationInput, result: RecognizeResult) -> str:
        return answer(hass)

    return respond


@callback
def async_register_sentences(hass: HomeAssistant) -> None:
    """Teach the default conversation agent CoinHub's sentences, for good.

    Called once from ``async_setup``: an integration's setup is never undone, and the
    answers read whatever entries are loaded when asked.
    """
    # Imported here: only this needs the conversation integration's internals.
    from homeassistant.components.conversation.agent_manager import (  # noqa: PLC0415
        get_agent_manager,
    )

    manager = get_agent_manager(hass)
    manager.register_trigger(MINED_TODAY_SENTENCES, _trigger(hass, answer_mined_today))
    manager.register_trigger(
        COINSOFTWORKS_PLAN_SENTENCES, _trigger(hass, answer_coinsoftworks_plan)
    )
