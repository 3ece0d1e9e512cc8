"""Sensors of CoinHub: balances and blocks, websites' paths and links, plans and actions."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Final, override

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType

from .api.coinetize import LinkMethod
from .api.coinsoftworks import ExecutionStatus
from .const import Provider
from .coordinator import (
    CoinetizeCoordinator,
    CoinetizeData,
    CoinHubConfigEntry,
    CoinHubCoordinator,
    CoinsoftworksCoordinator,
    CoinsoftworksData,
    JSEcoinCoordinator,
    JSEcoinData,
    WebsiteState,
)
from .entity import (
    LOOKUPS,
    WEBSITES,
    CoinHubEntity,
    CoinHubEntityDescription,
    async_add_coinhub_entities,
    has_paths,
)

# Read-only: the coordinator fetches for every entity at once.
PARALLEL_UPDATES = 0

# The "message" of a failed execution the provider gave no reason for.
FAILED_WITHOUT_REASON: Final = "no_reason_given"

# JSE amounts go down to 0.000001; four decimals show mining rewards without noise.
JSE_DISPLAY_PRECISION: Final = 4


@dataclass(frozen=True, kw_only=True)
class CoinHubSensorEntityDescription[CoordinatorT: CoinHubCoordinator[Any], SourceT](
    SensorEntityDescription, CoinHubEntityDescription[CoordinatorT, SourceT]
):
    """A CoinHub sensor: its value (and attributes) from the entity's source."""

    value_fn: Callable[[SourceT], StateType | Decimal | datetime]
    attr_fn: Callable[[SourceT], dict[str, Any]] | None = None
    last_reset_fn: Callable[[SourceT], datetime] | None = None


# What each sensor reads: an account's data, or one item of a collection.
JSEcoinSensor = CoinHubSensorEntityDescription[JSEcoinCoordinator, JSEcoinData]
LookupSensor = CoinHubSensorEntityDescription[JSEcoinCoordinator, Decimal]
CoinetizeSensor = CoinHubSensorEntityDescription[CoinetizeCoordinator, CoinetizeData]
WebsiteSensor = CoinHubSensorEntityDescription[CoinetizeCoordinator, WebsiteState]
CoinsoftworksSensor = CoinHubSensorEntityDescription[
    CoinsoftworksCoordinator, CoinsoftworksData
]


def _jsecoin_last_transaction(data: JSEcoinData) -> datetime | None:
    if data.last_transaction is None:
        return None
    # To the second, as a timestamp's state is: a refresh within it changes nothing.
    return data.last_transaction.timestamp.replace(microsecond=0)


def _enabled_path_count(website: WebsiteState) -> int | None:
    return None if website.enabled_paths is None else len(website.enabled_paths)


def _enabled_paths(website: WebsiteState) -> dict[str, Any]:
    return {"paths": list(website.enabled_paths or ())}


def _enabled_actions(data: CoinsoftworksData) -> dict[str, Any]:
    enabled = [action for action in data.actions if action.enabled]
    return {
        "actions": [action.action_name for action in enabled],
        # Guarded: they run only through coinhub.execute_action, when the options allow.
        "wallet_actions": [action.action_name for action in enabled if action.wallet],
    }


def _last_action_status(data: CoinsoftworksData) -> str | None:
    execution = data.last_execution
    return None if execution is None else execution.status.value


def _last_action(data: CoinsoftworksData) -> dict[str, Any]:
    execution = data.last_execution
    if execution is None:
        return {}
    names = {action.action_id: action.action_name for action in data.actions}
    message = execution.message
    if execution.status is ExecutionStatus.FAILED and message is None:
        # CoinHub's own words: a key the state attribute's translations name.
        message = FAILED_WITHOUT_REASON
    return {
        "action_id": execution.action_id,
        "action": names.get(execution.action_id or ""),
        "execution_id": execution.execution_id,
        # Why a failed execution failed: the provider's words when it gave any.
        "message": message,
    }


SENSORS: Final[dict[Provider, tuple[CoinHubSensorEntityDescription[Any, Any], ...]]] = {
    Provider.JSECOIN: (
        JSEcoinSensor(
            key="balance",
            translation_key="balance",
            state_class=SensorStateClass.TOTAL,
            exposed_to_assist=True,
            suggested_display_precision=JSE_DISPLAY_PRECISION,
            value_fn=lambda data: data.balance,
        ),
        LookupSensor(
            key="lookup_balance",
            translation_key="lookup_balance",
            collection=LOOKUPS,
            state_class=SensorStateClass.TOTAL,
            suggested_display_precision=JSE_DISPLAY_PRECISION,
            value_fn=lambda balance: balance,
        ),
        # Income resets at local midnight. TOTAL with last_reset, not TOTAL_INCREASING:
        # the first poll of a day may already hold income (polls are a minute or more
        # apart), so the new day's first value can exceed yesterday's last; only an
        # explicit reset lets long-term statistics count all of it. Assist answers
        # "how much did I mine today" from it.
        JSEcoinSensor(
            key="income_today",
            translation_key="income_today",
            state_class=SensorStateClass.TOTAL,
            suggested_display_precision=JSE_DISPLAY_PRECISION,
            exposed_to_assist=True,
            value_fn=lambda data: data.income.today,
            last_reset_fn=lambda data: data.income.last_reset,
        ),
        # A rolling window rises and falls: a measurement, never summed.
        JSEcoinSensor(
            key="income_last_7_days",
            translation_key="income_last_7_days",
            state_class=SensorStateClass.MEASUREMENT,
            suggested_display_precision=JSE_DISPLAY_PRECISION,
            value_fn=lambda data: data.income.last_days,
        ),
        JSEcoinSensor(
            key="block_id",
            translation_key="block_id",
            entity_category=EntityCategory.DIAGNOSTIC,
            # The chain's progress, not the account's: of interest to few.
            entity_registry_enabled_default=False,
            value_fn=lambda data: data.block_id,
        ),
        JSEcoinSensor(
            key="last_transaction",
            translation_key="last_transaction",
            device_class=SensorDeviceClass.TIMESTAMP,
            value_fn=_jsecoin_last_transaction,
        ),
    ),
    Provider.COINETIZE: (
        CoinetizeSensor(
            key="linked_websites",
            translation_key="linked_websites",
            value_fn=lambda data: len(data.websites),
        ),
        WebsiteSensor(
            key="enabled_paths",
            translation_key="enabled_paths",
            collection=WEBSITES,
            exists_fn=has_paths,
            value_fn=_enabled_path_count,
            attr_fn=_enabled_paths,
        ),
        WebsiteSensor(
            key="link_method",
            translation_key="link_method",
            collection=WEBSITES,
            device_class=SensorDeviceClass.ENUM,
            options=[method.value for method in LinkMethod],
            entity_category=EntityCategory.DIAGNOSTIC,
            value_fn=lambda website: website.link_method.value,
        ),
    ),
    Provider.COINSOFTWORKS: (
        CoinsoftworksSensor(
            key="purchased_plan",
            translation_key="purchased_plan",
            exposed_to_assist=True,
            value_fn=lambda data: data.user.purchased_plan,
        ),
        CoinsoftworksSensor(
            key="enabled_actions",
            translation_key="enabled_actions",
            value_fn=lambda data: sum(action.enabled for action in data.actions),
            attr_fn=_enabled_actions,
        ),
        CoinsoftworksSensor(
            key="last_action_status",
            translation_key="last_action_status",
            device_class=SensorDeviceClass.ENUM,
            options=[status.value for status in ExecutionStatus],
            value_fn=_last_action_status,
            attr_fn=_last_action,
        ),
    ),
}


async def async_setup_entry(
    hass: HomeAssistant,
    entry: CoinHubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Set up the sensors of the entry's provider."""
    async_add_coinhub_entities(
        entry,
        async_add_entities,
        SENSORS[entry.runtime_data.provider],
        CoinHubSensorEntity,
    )


class CoinHubSensorEntity(CoinHubEntity[CoinHubCoordinator[Any]], SensorEntity):
    """A sensor of a CoinHub account, lookup or website."""

    entity_description: CoinHubSensorEntityDescription[Any, Any]

    @override
    def shown(self) -> object:
        """Return the value, the last reset and the attributes."""
        return (
            self.native_value,
            self.last_reset,
            self.extra_state_attributes,
        )

    @property
    @override
    def native_value(self) -> StateType | Decimal | datetime:
        """Return the sensor's value."""
        return self.entity_description.value_fn(self.source)

    @property
    @override
    def last_reset(self) -> datetime | None:
        """Return when a sensor that resets (income today) last did."""
        if (last_reset_fn := self.entity_description.last_reset_fn) is None:
            return None
        return last_reset_fn(self.source)

    @property
    @override
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """Return the sensor's attributes, if it has any."""
        if (attr_fn := self.entity_description.attr_fn) is None:
            return None
        return attr_fn(self.source)
