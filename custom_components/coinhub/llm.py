"""LLM tools of CoinHub: read-only looks at JSEcoin accounts for conversation agents.

Three tools, offered to the Assist API when the user exposed a CoinHub sensor they
read: balances, income and recent transactions. None moves value or changes anything,
and none returns a secret: no key, no coin code, and no counterparty's e-mail address
or public key (a transaction says only which way it went).

An account is visible to the tools when its balance sensor is exposed to the
assistant; income figures come from the exposed income sensors.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Final, override

from homeassistant.components.llm import LLMTools
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant, State, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.llm import (
    LLM_API_ASSIST,
    LLMContext,
    Tool,
    ToolAnnotations,
    ToolInput,
    ToolResult,
)
from homeassistant.util.json import JsonObjectType, JsonValueType
import probatio as vol

from .api.jsecoin import HistoryEntry
from .assist import KEY_BALANCE, account_name, async_exposed_states, known
from .const import CONF_PROVIDER, DOMAIN, Provider
from .coordinator import JSEcoinCoordinator
from .entity import unique_id
from .errors import translated_errors

# Reads of what Home Assistant already holds: nothing changes, nothing leaves.
LOCAL_READ: Final = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=False
)
# The transactions are read from JSEcoin: still read-only, but outside Home Assistant.
PROVIDER_READ: Final = ToolAnnotations(
    read_only=True, destructive=False, idempotent=True, open_world=True
)

ATTR_ACCOUNT: Final = "account"
ATTR_LIMIT: Final = "limit"
DEFAULT_TRANSACTIONS: Final = 10
MAX_TRANSACTIONS: Final = 50
INCOME_KEY_PREFIX: Final = "income_"

PROMPT: Final = (
    "CoinHub tools read the user's JSEcoin accounts. Amounts are in JSE. "
    "They never move coins; transfers are not possible through them."
)


def _amount(value: Decimal | str) -> str:
    """Return an amount as exact text: JSON numbers would round it."""
    return f"{Decimal(value).normalize():f}"


@callback
def _exposed_accounts(
    hass: HomeAssistant, assistant: str
) -> dict[str, JSEcoinCoordinator]:
    """Return the loaded JSEcoin accounts whose balance sensor is exposed, by name."""
    registry = er.async_get(hass)
    exposed = {
        state.entity_id for state in async_exposed_states(hass, KEY_BALANCE, assistant)
    }
    accounts: dict[str, JSEcoinCoordinator] = {}
    for entry in hass.config_entries.async_loaded_entries(DOMAIN):
        if entry.data.get(CONF_PROVIDER) != Provider.JSECOIN:
            continue
        coordinator: JSEcoinCoordinator = entry.runtime_data
        balance = registry.async_get_entity_id(
            Platform.SENSOR, DOMAIN, unique_id(coordinator, KEY_BALANCE)
        )
        if balance in exposed:
            accounts[entry.title] = coordinator
    return accounts


def _account_schema(accounts: list[str]) -> dict[vol.Marker, Any]:
    return {vol.Optional(ATTR_ACCOUNT): vol.In(accounts)}


class CoinHubTool(Tool):
    """A read-only CoinHub tool over the JSEcoin accounts the assistant may see."""

    integration = DOMAIN

    def __init__(self, accounts: list[str]) -> None:
        """Offer the tool for these accounts (an empty list when only income is seen)."""
        self.parameters = vol.Schema(_account_schema(accounts))

    def _chosen(
        self, hass: HomeAssistant, llm_context: LLMContext, tool_input: ToolInput
    ) -> dict[str, JSEcoinCoordinator]:
        """Return the accounts the call asks for: the one named, or all."""
        args = self.parameters(tool_input.tool_args)
        accounts = _exposed_accounts(hass, llm_context.assistant)
        if (name := args.get(ATTR_ACCOUNT)) is not None:
            return {name: accounts[name]} if name in accounts else {}
        return accounts


class GetBalancesTool(CoinHubTool):
    """The balance of each account, and of its tracked site and sub IDs."""

    name = f"{DOMAIN}__get_balances"
    title = "Get JSEcoin balances"
    description = (
        "Get the JSE balance of the user's JSEcoin accounts, with the balance of "
        "each tracked site ID or sub ID. Leave out account to get all of them."
    )
    annotations = LOCAL_READ

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: ToolInput, llm_context: LLMContext
    ) -> ToolResult:
        """Return the balances the coordinators last read."""
        balances: list[JsonValueType] = [
            {
                "account": name,
                "balance": _amount(coordinator.data.balance),
                "unit": "JSE",
                "lookups": {
                    lookup: _amount(value)
                    for lookup, value in coordinator.data.lookups.items()
                },
                "available": coordinator.last_update_success,
            }
            for name, coordinator in self._chosen(hass, llm_context, tool_input).items()
            if coordinator.data is not None
        ]
        return ToolResult(data={"accounts": balances})


class GetIncomeTool(Tool):
    """The income figures of each account, from CoinHub's income sensors."""

    name = f"{DOMAIN}__get_income"
    title = "Get JSEcoin income"
    description = (
        "Get the JSE the user's JSEcoin accounts earned from mining, such as today "
        "since local midnight."
    )
    annotations = LOCAL_READ
    integration = DOMAIN

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: ToolInput, llm_context: LLMContext
    ) -> ToolResult:
        """Return each exposed income sensor's figure, by account."""
        incomes: dict[str, dict[str, str | None]] = {}
        for key, state in _income_states(hass, llm_context.assistant):
            incomes.setdefault(account_name(hass, state), {})[key] = (
                _amount(state.state) if known(state) else None
            )
        return ToolResult(
            data={
                "unit": "JSE",
                "accounts": [
                    {"account": account, **figures}
                    for account, figures in incomes.items()
                ],
            }
        )


class GetRecentTransactionsTool(CoinHubTool):
    """The newest entries of an account's JSEcoin history."""

    name = f"{DOMAIN}__get_recent_transactions"
    title = "Get recent JSEcoin transactions"
    description = (
        "Get the newest transactions of the user's JSEcoin accounts: mining, "
        "transfers in and out, coin code imports and exports, newest first. "
        "Counterparties are not named."
    )
    annotations = PROVIDER_READ

    def __init__(self, accounts: list[str]) -> None:
        """Offer the tool for these accounts, with how many entries to return."""
        super().__init__(accounts)
        self.parameters = self.parameters.extend(
            {
                vol.Optional(ATTR_LIMIT, default=DEFAULT_TRANSACTIONS): vol.All(
                    vol.Coerce(int), vol.Range(min=1, max=MAX_TRANSACTIONS)
                )
            }
        )

    @override
    async def async_call(
        self, hass: HomeAssistant, tool_input: ToolInput, llm_context: LLMContext
    ) -> ToolResult:
        """Read each account's history from JSEcoin and return its newest entries."""
        limit: int = self.parameters(tool_input.tool_args)[ATTR_LIMIT]
        accounts: list[JsonValueType] = []
        for name, coordinator in self._chosen(hass, llm_context, tool_input).items():
            try:
                async with translated_errors(coordinator):
                    history = await coordinator.client.history()
            except HomeAssistantError as err:
                return ToolResult(data={"account": name, "error": str(err)}, error=True)
            # Entries read here are announced like a poll's: once, never twice.
            await coordinator.async_process_history(history)
            newest = history.entries[::-1][:limit]
            accounts.append(
                {"account": name, "transactions": [_transaction(e) for e in newest]}
            )
        return ToolResult(data={"unit": "JSE", "accounts": accounts})


def _transaction(entry: HistoryEntry) -> JsonObjectType:
    """Return a history entry without the counterparty's e-mail or public key."""
    return {
        "id": entry.id,
        "command": entry.command,
        "direction": "in" if entry.incoming else "out",
        "value": _amount(entry.value),
        "reference": entry.reference,
        "timestamp": entry.timestamp.isoformat(),
    }


@callback
def _income_states(hass: HomeAssistant, assistant: str) -> list[tuple[str, State]]:
    """Return the exposed income sensors with their translation keys."""
    registry = er.async_get(hass)
    keys = {
        entry.translation_key
        for entry in registry.entities.values()
        if entry.platform == DOMAIN
        and entry.translation_key is not None
        and entry.translation_key.startswith(INCOME_KEY_PREFIX)
    }
    return [
        (key, state)
        for key in sorted(keys)
        for state in async_exposed_states(hass, key, assistant)
    ]


@callback
def async_get_tools(
    hass: HomeAssistant, llm_context: LLMContext, api_id: str
) -> LLMTools | None:
    """Return the tools for what the assistant may see; none when it sees nothing."""
    if api_id != LLM_API_ASSIST or not llm_context.assistant:
        return None
    tools: list[Tool] = []
    if accounts := sorted(_exposed_accounts(hass, llm_context.assistant)):
        tools += [GetBalancesTool(accounts), GetRecentTransactionsTool(accounts)]
    if _income_states(hass, llm_context.assistant):
        tools.append(GetIncomeTool())
    if not tools:
        return None
    return LLMTools(tools=tools, prompt=PROMPT)
