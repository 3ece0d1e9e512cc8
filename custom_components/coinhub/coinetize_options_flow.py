"""Options of a Coinetize account: the websites linked outside CoinHub that it follows.

Coinetize has no call that lists an account's websites, so a website linked before
CoinHub (or on the Coinetize site) is only known once the user names its subdomain.
Each one is checked with a signed read of its review before anything is saved; the
coordinator then adds and removes the websites' devices without a reload.
"""

from __future__ import annotations

import re
from typing import Any, Final

from homeassistant.config_entries import ConfigEntryState, ConfigFlowResult, OptionsFlow
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig
import probatio as vol

from .api.coinetize import Review, TimestampRefusedError
from .api.exceptions import ProviderRefusedError
from .clients import coinetize_client
from .const import CONF_WEBSITES
from .coordinator import CoinetizeCoordinator, followed_websites
from .errors import form_error

# A Coinetize subdomain is one DNS label: letters, digits and inner hyphens.
SUBDOMAIN_LABEL: Final = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")

STEP_WEBSITES: Final = "websites"

WEBSITES_SCHEMA: Final = vol.Schema(
    {
        vol.Optional(CONF_WEBSITES, default=""): TextSelector(
            TextSelectorConfig(multiline=True, autocomplete="off")
        ),
    }
)


def parse_websites(text: str) -> tuple[list[str], str | None]:
    """Return the subdomains of the form's text, one a line, and the first bad one.

    Blank lines and repeats are dropped; surrounding spaces do not count.
    """
    subdomains = list(
        dict.fromkeys(line.strip() for line in text.splitlines() if line.strip())
    )
    bad = next((s for s in subdomains if not SUBDOMAIN_LABEL.fullmatch(s)), None)
    return subdomains, bad


class CoinetizeOptionsFlow(OptionsFlow):
    """Choose the websites linked outside CoinHub that the account follows.

    Saving needs no reload: the coordinator follows the options as they change.
    """

    async def async_step_init(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the websites step (its own step, so its texts are Coinetize's)."""
        return await self.async_step_websites()

    async def async_step_websites(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Show the followed websites and check them with Coinetize before saving."""
        errors: dict[str, str] = {}
        placeholders: dict[str, str] = {}
        if user_input is not None:
            subdomains, bad = parse_websites(user_input.get(CONF_WEBSITES, ""))
            if bad is not None:
                errors, placeholders = (
                    {CONF_WEBSITES: "invalid_website"},
                    {"website": bad},
                )
            else:
                errors, placeholders = await self._async_check(subdomains)
            if not errors:
                return self.async_create_entry(
                    data={**self.config_entry.options, CONF_WEBSITES: subdomains}
                )
        shown = user_input or {
            CONF_WEBSITES: "\n".join(followed_websites(self.config_entry))
        }
        return self.async_show_form(
            step_id=STEP_WEBSITES,
            data_schema=self.add_suggested_values_to_schema(WEBSITES_SCHEMA, shown),
            description_placeholders=placeholders,
            errors=errors,
        )

    async def _async_check(
        self, subdomains: list[str]
    ) -> tuple[dict[str, str], dict[str, str]]:
        """Read each website's review: Coinetize answers it for the account's own only.

        Returns the form errors and, on error, the website at fault as placeholder.
        The reviews read go to the running coordinator, which needs them to show the
        websites.
        """
        client = coinetize_client(self.hass, self.config_entry.data)
        reviews: dict[str, Review] = {}
        for subdomain in subdomains:
            try:
                reviews[subdomain] = await client.review(subdomain)
            except TimestampRefusedError as err:
                # Says nothing about the website: the clock is off.
                return {"base": form_error(err, "a Coinetize website")}, {}
            except ProviderRefusedError:
                return {CONF_WEBSITES: "unknown_website"}, {"website": subdomain}
            except Exception as err:  # noqa: BLE001 - every failure becomes a form error
                return {"base": form_error(err, "a Coinetize website")}, {
                    "website": subdomain
                }
        if self.config_entry.state is ConfigEntryState.LOADED:
            coordinator: CoinetizeCoordinator = self.config_entry.runtime_data
            coordinator.async_remember_reviews(reviews)
        return {}, {}
