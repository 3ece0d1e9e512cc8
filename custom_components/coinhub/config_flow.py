"""Config flow for CoinHub: one entry per account on JSEcoin, Coinetize or coinsoftworks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
import copy
from dataclasses import dataclass, field
from hashlib import sha256
import math
from typing import Any, Final, override

from homeassistant.config_entries import (
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    OptionsFlowWithReload,
)
from homeassistant.const import CONF_API_KEY, CONF_USERNAME
from homeassistant.core import HomeAssistant, callback
from homeassistant.data_entry_flow import UnknownHandler, section
from homeassistant.helpers.selector import (
    BooleanSelector,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
import probatio as vol
from yarl import URL

from .api.exceptions import (
    AccessLevelError,
    AuthenticationError,
    CannotConnectError,
    InvalidInputError,
    ProviderRefusedError,
    RateLimitedError,
)
from .clients import coinetize_client, coinsoftworks_client, jsecoin_client
from .const import (
    CONF_ACCESS_TOKEN,
    CONF_ADVANCED,
    CONF_ALLOW_TRANSFERS,
    CONF_AUTH_TOKEN,
    CONF_BASE_URL,
    CONF_DAILY_TRANSFER_LIMIT,
    CONF_LOOKUPS,
    CONF_MAX_TRANSFER_AMOUNT,
    CONF_PROVIDER,
    CONF_WEBSITES,
    DEFAULT_ALLOW_TRANSFERS,
    DEFAULT_BASE_URLS,
    DEFAULT_DAILY_TRANSFER_LIMIT,
    DEFAULT_MAX_TRANSFER_AMOUNT,
    DOMAIN,
    LOGGER,
    MANUFACTURERS,
    Provider,
)

# Without a user id in its history, a JSEcoin account is only known by its key.
JSECOIN_KEY_ID_PREFIX: Final = "jsecoin_key_"

# Provider errors a person can act on; anything else is logged and shown as "unknown".
_ERROR_KEYS: Final[tuple[tuple[type[Exception], str], ...]] = (
    (AccessLevelError, "no_read_access"),  # before its base class AuthenticationError
    (AuthenticationError, "invalid_auth"),
    (CannotConnectError, "cannot_connect"),
    (RateLimitedError, "rate_limited"),
)

_SECRET_SELECTOR: Final = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="off")
)
_TEXT_SELECTOR: Final = TextSelector(TextSelectorConfig(autocomplete="off"))
_URL_SELECTOR: Final = TextSelector(TextSelectorConfig(type=TextSelectorType.URL))
_AMOUNT_SELECTOR: Final = NumberSelector(
    NumberSelectorConfig(
        mode=NumberSelectorMode.BOX, step="any", unit_of_measurement="JSE"
    )
)


@dataclass(frozen=True, slots=True)
class Account:
    """The account that validated credentials belong to."""

    unique_id: str
    title: str


type AccountValidator = Callable[[HomeAssistant, Mapping[str, Any]], Awaitable[Account]]


@dataclass(frozen=True, slots=True)
class ProviderForm:
    """What the steps of one provider ask for, and how its credentials are checked.

    A new provider is one more row in ``PROVIDER_FORMS``, not a new branch in the flow.
    """

    fields: tuple[str, ...]
    """Credential fields, in form order."""
    secrets: frozenset[str]
    """Fields never echoed back to a form; the ones reauthentication asks again."""
    validate: AccountValidator
    """Authenticate against the provider and tell whose account it is."""
    prefixes: Mapping[str, str] = field(default_factory=dict)
    """Fields whose value always starts with a known prefix: checked before sending."""
    initial_data: Mapping[str, Any] = field(default_factory=dict)
    """Entry data a new entry starts with besides the credentials."""
    initial_options: Mapping[str, Any] = field(default_factory=dict)
    """Options a new entry starts with."""


def _key_fingerprint(secret: str) -> str:
    """Return an identifier derived from a secret that does not reveal it."""
    return sha256(secret.encode()).hexdigest()[:16]


async def _validate_jsecoin(hass: HomeAssistant, data: Mapping[str, Any]) -> Account:
    """Read the balance (needs read access) and the history (gives the user id)."""
    client = jsecoin_client(hass, data)
    await client.balance()
    history = await client.history()
    name = MANUFACTURERS[Provider.JSECOIN]
    # The first account is plainly "JSEcoin", so its balance reads aloud as "JSEcoin
    # balance"; further accounts are told apart by their user id.
    first = not any(
        entry.data.get(CONF_PROVIDER) == Provider.JSECOIN
        for entry in hass.config_entries.async_entries(DOMAIN)
    )
    if (user_id := history.account_user_id) is None:
        # A new account without transactions: its key is all we can tell it by.
        return Account(
            f"{JSECOIN_KEY_ID_PREFIX}{_key_fingerprint(data[CONF_API_KEY])}",
            name if first else f"{name} account",
        )
    return Account(f"jsecoin_{user_id}", name if first else f"{name} {user_id}")


async def _validate_coinetize(hass: HomeAssistant, data: Mapping[str, Any]) -> Account:
    """Check the signature; Coinetize has no "who am I" call, the username is the id."""
    await coinetize_client(hass, data).validate_credentials()
    username: str = data[CONF_USERNAME]
    return Account(
        f"coinetize_{username.lower()}",
        f"{MANUFACTURERS[Provider.COINETIZE]} {username}",
    )


async def _validate_coinsoftworks(
    hass: HomeAssistant, data: Mapping[str, Any]
) -> Account:
    """Authenticate and read the user.

    The bearer token lands in the account's shared token cache, so the entry set up
    right after this flow does not authenticate again.
    """
    user = await coinsoftworks_client(hass, data).user()
    return Account(
        f"coinsoftworks_{user.username.lower()}",
        f"{MANUFACTURERS[Provider.COINSOFTWORKS]} {user.username}",
    )


PROVIDER_FORMS: Final[Mapping[Provider, ProviderForm]] = {
    Provider.JSECOIN: ProviderForm(
        fields=(CONF_API_KEY,),
        secrets=frozenset({CONF_API_KEY}),
        validate=_validate_jsecoin,
        initial_options={
            CONF_LOOKUPS: [],
            CONF_ALLOW_TRANSFERS: DEFAULT_ALLOW_TRANSFERS,
            CONF_MAX_TRANSFER_AMOUNT: DEFAULT_MAX_TRANSFER_AMOUNT,
            CONF_DAILY_TRANSFER_LIMIT: DEFAULT_DAILY_TRANSFER_LIMIT,
        },
    ),
    Provider.COINETIZE: ProviderForm(
        fields=(CONF_USERNAME, CONF_AUTH_TOKEN),
        secrets=frozenset({CONF_AUTH_TOKEN}),
        validate=_validate_coinetize,
        # Linked websites are known only to us: kept in the entry, none yet.
        initial_data={CONF_WEBSITES: {}},
    ),
    Provider.COINSOFTWORKS: ProviderForm(
        fields=(CONF_API_KEY, CONF_ACCESS_TOKEN),
        secrets=frozenset({CONF_API_KEY, CONF_ACCESS_TOKEN}),
        validate=_validate_coinsoftworks,
        prefixes={CONF_ACCESS_TOKEN: "1_"},
    ),
}


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
    form: ProviderForm, fields: tuple[str, ...], *, secrets_required: bool = True
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
    form: ProviderForm, user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """Return what may be shown again in a form: the input minus its secrets."""
    return {key: value for key, value in user_input.items() if key not in form.secrets}


def _base_error(err: Exception, checking: str) -> dict[str, str]:
    """Return the form error for a provider failure; log the unexpected ones.

    Call it from an ``except`` block: the traceback is logged, never a secret.
    """
    key = next((key for kind, key in _ERROR_KEYS if isinstance(err, kind)), None)
    if key is None:
        LOGGER.exception("Unexpected error while checking %s", checking)
        key = "unknown"
    return {"base": key}


def _user_data(
    form: ProviderForm, user_input: Mapping[str, Any], current: Mapping[str, Any]
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
    def async_get_options_flow(config_entry: ConfigEntry) -> JSEcoinOptionsFlow:
        """Return the options flow; only JSEcoin accounts have options."""
        if config_entry.data[CONF_PROVIDER] != Provider.JSECOIN:
            raise UnknownHandler
        return JSEcoinOptionsFlow()

    @classmethod
    @callback
    @override
    def async_supports_options_flow(cls, config_entry: ConfigEntry) -> bool:
        """Offer options for JSEcoin accounts only."""
        return bool(config_entry.data[CONF_PROVIDER] == Provider.JSECOIN)

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
        form = PROVIDER_FORMS[provider]
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
        form = PROVIDER_FORMS[provider]
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
        form = PROVIDER_FORMS[provider]
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
            return await PROVIDER_FORMS[provider].validate(self.hass, data), {}
        except InvalidInputError as err:
            # The client refused to send a value, e.g. a key with "/" that would
            # change the URL it goes in: no real credential looks like that.
            if err.field in shown_fields:
                return None, {err.field: "invalid_characters"}
            return None, {"base": "invalid_auth"}
        except Exception as err:  # noqa: BLE001 - every failure becomes a form error
            return None, _base_error(err, f"a {MANUFACTURERS[provider]} account")

    async def _async_update_entry(
        self, entry: ConfigEntry, account: Account, updates: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Store new credentials in ``entry`` and reload it, unless they open another account."""
        # A JSEcoin account without history is known only by its key's fingerprint,
        # which a new key cannot match: there is nothing to compare, so trust the user.
        if not any(
            uid.startswith(JSECOIN_KEY_ID_PREFIX)
            for uid in (entry.unique_id or "", account.unique_id)
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
                return _base_error(err, "a JSEcoin lookup"), {"lookup": lookup}
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
