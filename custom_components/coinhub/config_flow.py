"""Config flow for CoinHub: one entry per account on JSEcoin, Coinetize or coinsoftworks."""

from __future__ import annotations

from collections.abc import Mapping
import copy
from typing import Any, Final, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.core import callback
from homeassistant.data_entry_flow import UnknownHandler, section
from homeassistant.helpers.selector import (
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol
from yarl import URL

from .api.exceptions import InvalidInputError
from .const import (
    CONF_ADVANCED,
    CONF_BASE_URL,
    CONF_PROVIDER,
    DEFAULT_BASE_URLS,
    DOMAIN,
    MANUFACTURERS,
    Provider,
)
from .errors import form_error
from .providers import PROVIDERS, Account, ProviderSpec, provider_of

_SECRET_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)
_TEXT_SELECTOR: Final = TextSelector(TextSelectorConfig(autocomplete="off"))
_URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))


def _normalize_base_url(value: str) -> str | None:
    """Return ``value`` without a trailing slash, or None unless it is a plain http(s) URL.

    Credentials, a query or a fragment in the base URL would end up in every request.
    """
    value = value.strip()
    try:
        url = URL(value)
    except ValueError:
        return None
    if (
        url.scheme not in ("http", "https")
        or not url.host
        or url.user is not None
        or url.query_string
        or url.fragment
    ):
        return None
    return value.rstrip("/")


def _credentials_schema(
    form: ProviderSpec, fields: tuple[str, ...], *, secrets_required: bool = True
) -> dict[vol.Marker, Any]:
    """Return the schema items of ``fields``; secrets are password inputs."""
    schema: dict[vol.Marker, Any] = {}
    for name in fields:
        if name not in form.secrets:
            schema[vol.Required(name)] = _TEXT_SELECTOR
        elif secrets_required:
            schema[vol.Required(name)] = _SECRET_SELECTOR
        else:
            schema[vol.Optional(name)] = _SECRET_SELECTOR
    return schema


def _advanced_schema(base_url: str) -> dict[vol.Marker, Any]:
    """Return the collapsed ``advanced`` section holding the base URL."""
    return {
        vol.Required(CONF_ADVANCED): section(
            vol.Schema({vol.Required(CONF_BASE_URL, default=base_url): _URL_SELECTOR}),
            {"collapsed": True},
        )
    }


def _without_secrets(
    form: ProviderSpec, user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """Return what may be shown again in a form: the input minus its secrets."""
    return {key: value for key, value in user_input.items() if key not in form.secrets}


def _user_data(
    form: ProviderSpec, user_input: Mapping[str, Any], current: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """Flatten a form's input into entry data and check what needs no provider.

    A secret left empty keeps its ``current`` value (reconfiguration never shows
    stored secrets). Returns the data and the form errors.
    """
    data: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for name in form.fields:
        # Keys and tokens are pasted: stray whitespace is never part of them.
        value = str(user_input.get(name, "")).strip()
        if not value and name in form.secrets and name in current:
            continue
        data[name] = value
        prefix = form.prefixes.get(name)
        if prefix is not None and name in user_input and not value.startswith(prefix):
            errors[name] = f"invalid_{name}"
    if CONF_ADVANCED in user_input:
        base_url = _normalize_base_url(user_input[CONF_ADVANCED][CONF_BASE_URL])
        if base_url is None:
            # The frontend shows errors of the fields inside a section at the section.
            errors[CONF_ADVANCED] = "invalid_url"
        else:
            data[CONF_BASE_URL] = base_url
    return data, errors


class CoinHubConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add, reauthenticate and reconfigure an account on one provider."""

    VERSION = 1

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> OptionsFlow:
        """Return the options flow of the entry's provider."""
        if (options_flow := provider_of(config_entry).options_flow) is None:
            raise UnknownHandler
        return options_flow()

    @classmethod
    @callback
    @override
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Offer options for the providers that have any."""
        return provider_of(config_entry).options_flow is not None

    @override
    async def async_step_user(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Let the user pick the provider of the account."""
        return self.async_show_menu(
            step_id="user", menu_options=[provider.value for provider in Provider]
        )

    async def async_step_jsecoin(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a JSEcoin account."""
        return await self._async_step_account(Provider.JSECOIN, user_input)

    async def async_step_coinetize(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a Coinetize account."""
        return await self._async_step_account(Provider.COINETIZE, user_input)

    async def async_step_coinsoftworks(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Add a coinsoftworks account."""
        return await self._async_step_account(Provider.COINSOFTWORKS, user_input)

    async def _async_step_account(
        self, provider: Provider, user_input: dict[str, Any] | None
    ) -> ConfigFlowResult:
        """Ask for a provider's credentials, validate them and create the entry."""
        form = PROVIDERS[provider]
        errors: dict[str, str] = {}
        if user_input is not None:
            data, errors = _user_data(form, user_input, {})
            if not errors:
                data[CONF_PROVIDER] = provider.value
                account, errors = await self._async_validate(
                    provider, data, form.fields
                )
                if account is not None:
                    await self.async_set_unique_id(account.unique_id)
                    self._abort_if_unique_id_configured()
                    return self.async_create_entry(
                        title=account.title,
                        data=copy.deepcopy(dict(form.initial_data)) | data,
                        options=copy.deepcopy(dict(form.initial_options)),
                    )
        schema = vol.Schema(
            _credentials_schema(form, form.fields)
            | _advanced_schema(DEFAULT_BASE_URLS[provider])
        )
        return self.async_show_form(
            step_id=provider.value,
            data_schema=self.add_suggested_values_to_schema(
                schema, _without_secrets(form, user_input or {})
            ),
            errors=errors,
        )

    async def async_step_reauth(
        self, entry_data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Start over with new secrets after the provider refused the stored ones."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the provider's secrets again and check they open the same account."""
        entry = self._get_reauth_entry()
        provider = Provider(entry.data[CONF_PROVIDER])
        form = PROVIDERS[provider]
        secret_fields = tuple(name for name in form.fields if name in form.secrets)
        errors: dict[str, str] = {}
        if user_input is not None:
            updates, errors = _user_data(form, {**entry.data, **user_input}, entry.data)
            if not errors:
                account, errors = await self._async_validate(
                    provider, {**entry.data, **updates}, secret_fields
                )
                if account is not None:
                    return await self._async_update_entry(entry, account, updates)
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=vol.Schema(_credentials_schema(form, secret_fields)),
            description_placeholders=_entry_placeholders(entry),
            errors=errors,
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change an account's credentials or base URL; secrets left empty are kept."""
        entry = self._get_reconfigure_entry()
        provider = Provider(entry.data[CONF_PROVIDER])
        form = PROVIDERS[provider]
        errors: dict[str, str] = {}
        if user_input is not None:
            updates, errors = _user_data(form, user_input, entry.data)
            if not errors:
                account, errors = await self._async_validate(
                    provider, {**entry.data, **updates}, form.fields
                )
                if account is not None:
                    return await self._async_update_entry(entry, account, updates)
        schema = vol.Schema(
            _credentials_schema(form, form.fields, secrets_required=False)
            | _advanced_schema(entry.data[CONF_BASE_URL])
        )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=self.add_suggested_values_to_schema(
                schema, _without_secrets(form, user_input or entry.data)
            ),
            description_placeholders=_entry_placeholders(entry),
            errors=errors,
        )

    async def _async_validate(
        self, provider: Provider, data: Mapping[str, Any], shown_fields: tuple[str, ...]
    ) -> tuple[Account | None, dict[str, str]]:
        """Check the credentials against the provider.

        Returns the account they open, or the form errors. Errors name no secret.
        """
        try:
            return await PROVIDERS[provider].validate(self.hass, data), {}
        except InvalidInputError as err:
            # The client refused to send a value, e.g. a key with "/" that would
            # change the URL it goes in: no real credential looks like that.
            if err.field in shown_fields:
                return None, {err.field: "invalid_characters"}
            return None, {"base": "invalid_auth"}
        except Exception as err:  # noqa: BLE001 - every failure becomes a form error
            return None, {
                "base": form_error(err, f"a {MANUFACTURERS[provider]} account")
            }

    async def _async_update_entry(
        self, entry: ConfigEntry, account: Account, updates: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Store new credentials in ``entry`` and reload it, unless they open another account."""
        # An id derived from a key (a JSEcoin account without history) cannot match a
        # new key's: there is nothing to compare, so trust the user.
        identifies_account = provider_of(entry).identifies_account
        if identifies_account(entry.unique_id or "") and identifies_account(
            account.unique_id
        ):
            await self.async_set_unique_id(account.unique_id)
            self._abort_if_unique_id_mismatch(reason="wrong_account")
        return self.async_update_reload_and_abort(entry, data_updates=updates)


def _entry_placeholders(entry: ConfigEntry) -> dict[str, str]:
    """Name the account and its provider in reauth and reconfigure forms."""
    return {
        "account": entry.title,
        "provider": MANUFACTURERS[Provider(entry.data[CONF_PROVIDER])],
    }
