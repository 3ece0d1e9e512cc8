"""Options flows of CoinHub accounts.

JSEcoin: tracked lookups and the limits of value-moving actions. coinsoftworks: whether
wallet actions may run.
"""

from __future__ import annotations

from collections.abc import Mapping
import math
from typing import Any, Final

from homeassistant.config_entries import (
    ConfigFlowResult,
    OptionsFlow,
    OptionsFlowWithReload,
)
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
)
import probatio as vol

from .api.exceptions import InvalidInputError, ProviderRefusedError
from .clients import jsecoin_client
from .const import (
    CONF_ALLOW_TRANSFERS,
    CONF_ALLOW_WALLET_ACTIONS,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    DEFAULT_ALLOW_TRANSFERS,
    DEFAULT_ALLOW_WALLET_ACTIONS,
    DEFAULT_DAILY_TRANSFER_LIMIT,
    DEFAULT_MAX_TRANSFER_AMOUNT,
)
from .errors import form_error

_AMOUNT_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        mode=NumberSelectorMode.BOX, step="any", unit_of_measurement="JSE"
    )
)

OPTIONS_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_LOOKUPS, default=[]): TextSelector(
            TextSelectorConfig(multiple=True, autocomplete="off")
        ),
        vol.Required(
            CONF_ALLOW_TRANSFERS, default=DEFAULT_ALLOW_TRANSFERS
        ): BooleanSelector(),
        vol.Required(
            CONF_MAX_TRANSFER_AMOUNT, default=DEFAULT_MAX_TRANSFER_AMOUNT
        ): _AMOUNT_SELECTOR,
        vol.Required(
            CONF_DAILY_TRANSFER_LIMIT, default=DEFAULT_DAILY_TRANSFER_LIMIT
        ): _AMOUNT_SELECTOR,
    }
)


class JSEcoinOptionsFlow(OptionsFlowWithReload):
    """Choose the tracked lookups and the limits of value-moving actions."""

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the options and check them before saving."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            options = {
                **user_input,
                # One lookup per line in the UI: blanks and repeats are noise.
                CONF_LOOKUPS: list(
                    dict.fromkeys(
                        lookup.strip()
                        for lookup in user_input[CONF_LOOKUPS]
                        if lookup.strip()
                    )
                ),
            }
            errors = _limit_errors(options)
            if not errors:
                errors, placeholders = await self._async_check_lookups(
                    options[CONF_LOOKUPS]
                )
            if not errors:
                return self.async_create_entry(data=options)
        return self.async_show_form(
            step_id="init",
            data_schema=self.add_suggested_values_to_schema(
                OPTIONS_SCHEMA, user_input or self.config_entry.options
            ),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def _async_check_lookups(
        self, lookups: list[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Read each lookup's balance so only lookups the account has are tracked.

        Returns the form errors and, on error, the lookup at fault as placeholder.
        """
        client = jsecoin_client(self.hass, self.config_entry.data)
        for lookup in lookups:
            try:
                await client.balance(lookup)
            except ProviderRefusedError:
                return {CONF_LOOKUPS: "unknown_lookup"}, {"lookup": lookup}
            except InvalidInputError:
                return {CONF_LOOKUPS: "invalid_lookup"}, {"lookup": lookup}
            except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                return {"base": form_error(err, "a JSEcoin lookup")}, {"lookup": lookup}
        return {}, {}


def _limit_errors(options: Mapping[str, Any]) -> dict[str, str]:
    """Check the transfer limits: positive, finite and the single cap within the daily one."""
    errors = {
        name: "invalid_amount"
        for name in (CONF_MAX_TRANSFER_AMOUNT, CONF_DAILY_TRANSFER_LIMIT)
        if not (math.isfinite(options[name]) and options[name] > 0)
    }
    if not errors and (
        options[CONF_MAX_TRANSFER_AMOUNT] > options[CONF_DAILY_TRANSFER_LIMIT]
    ):
        errors[CONF_MAX_TRANSFER_AMOUNT] = "max_above_daily"
    return errors


COINSOFTWORKS_OPTIONS_SCHEMA: Final = vol.Schema(
    {
        vol.Required(
            CONF_ALLOW_WALLET_ACTIONS, default=DEFAULT_ALLOW_WALLET_ACTIONS
        ): BooleanSelector(),
    }
)


class CoinsoftworksOptionsFlow(OptionsFlow):
    """Choose whether ``coinhub.execute_action`` may run wallet actions.

    The option is read at each call, so saving needs no reload.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the coinsoftworks options (a step of their own, titled for them)."""
        return await self.async_step_coinsoftworks(user_input)

    async def async_step_coinsoftworks(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Save whether wallet actions may run."""
        if user_input is not None:
            return self.async_create_entry(
                data={**self.config_entry.options, **user_input}
            )
        return self.async_show_form(
            step_id="coinsoftworks",
            data_schema=self.add_suggested_values_to_schema(
                COINSOFTWORKS_OPTIONS_SCHEMA, self.config_entry.options
            ),
        )
