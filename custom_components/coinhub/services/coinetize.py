"""Coinetize actions: link, verify and unlink websites, and manage their paths."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
import re
from typing import Any, Final

from homeassistant.core import ServiceCall, SupportsResponse
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
import probatio as vol

from ..api.coinetize import AlreadyVerifiedError, LinkMethod, Paths
from ..const import DOMAIN
from ..coordinator import CoinetizeCoordinator, followed_websites
from .action import ENTRY_SCHEMA, ActionDefinition

SERVICE_LINK_WEBSITE: Final = "link_website"
SERVICE_VERIFY_WEBSITE: Final = "verify_website"
SERVICE_UNLINK_WEBSITE: Final = "unlink_website"
SERVICE_ADD_PATH: Final = "add_path"
SERVICE_REMOVE_PATH: Final = "remove_path"
SERVICE_WEBSITE_REVIEW: Final = "website_review"

ATTR_WEBSITE: Final = "website"
ATTR_LINK_METHOD: Final = "link_method"
ATTR_DNS_WEBSITE: Final = "dns_website"
ATTR_PROTOCOL: Final = "protocol"
ATTR_PATH: Final = "path"
ATTR_PORT: Final = "port"
ATTR_SUBDOMAIN: Final = "subdomain"
ATTR_V_FILE: Final = "v_file"

# A Coinetize subdomain is a host name: letters, digits and hyphens, in dot-separated
# labels. Checked before a subdomain this entry did not link is sent anywhere.
SUBDOMAIN_FORM: Final = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
MAX_SUBDOMAIN_LENGTH: Final = 253

LINK_WEBSITE_SCHEMA: Final = ENTRY_SCHEMA.extend(
    {
        vol.Required(ATTR_WEBSITE): cv.string,
        vol.Required(ATTR_LINK_METHOD): vol.In([method.value for method in LinkMethod]),
        vol.Optional(ATTR_DNS_WEBSITE): cv.string,
        vol.Optional(ATTR_PROTOCOL): cv.string,
        vol.Optional(ATTR_PATH): cv.string,
        vol.Optional(ATTR_PORT): vol.All(vol.Coerce(int), vol.Range(min=1, max=65535)),
    }
)
SUBDOMAIN_SCHEMA: Final = ENTRY_SCHEMA.extend({vol.Required(ATTR_SUBDOMAIN): cv.string})
VERIFY_WEBSITE_SCHEMA: Final = SUBDOMAIN_SCHEMA.extend(
    {vol.Optional(ATTR_V_FILE): cv.string}
)
PATH_SCHEMA: Final = SUBDOMAIN_SCHEMA.extend({vol.Required(ATTR_PATH): cv.string})


def _subdomain(call: ServiceCall) -> str:
    """Return the call's subdomain if it has the form of one; refuse before sending."""
    subdomain: str = call.data[ATTR_SUBDOMAIN]
    if len(subdomain) > MAX_SUBDOMAIN_LENGTH or not SUBDOMAIN_FORM.fullmatch(subdomain):
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="invalid_subdomain"
        )
    return subdomain


def _linked_subdomain(coordinator: CoinetizeCoordinator, call: ServiceCall) -> str:
    """Return the call's subdomain if this entry linked or follows it.

    Anything else is refused before sending.
    """
    subdomain = _subdomain(call)
    if not coordinator.knows_website(subdomain):
        known = {
            *coordinator.stored_websites,
            *followed_websites(coordinator.config_entry),
        }
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_subdomain",
            translation_placeholders={"subdomains": ", ".join(sorted(known)) or "-"},
        )
    return subdomain


async def _link_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Link a website and keep what Coinetize hands out once, before answering."""
    options = {
        key: call.data[key]
        for key in (ATTR_DNS_WEBSITE, ATTR_PROTOCOL, ATTR_PATH, ATTR_PORT)
        if key in call.data
    }
    website, method = call.data[ATTR_WEBSITE], call.data[ATTR_LINK_METHOD]
    link = await coordinator.client.link_website(website, method, **options)
    await coordinator.async_remember_website(
        link.subdomain,
        {
            ATTR_WEBSITE: website,
            ATTR_LINK_METHOD: method,
            "verification_code": link.verification_code,
            "link_verification_filename": link.link_verification_filename,
            ATTR_DNS_WEBSITE: options.get(ATTR_DNS_WEBSITE),
            ATTR_PROTOCOL: options.get(ATTR_PROTOCOL),
            ATTR_PATH: options.get(ATTR_PATH),
            ATTR_PORT: options.get(ATTR_PORT),
            "verified": False,
        },
    )
    return {
        "subdomain": link.subdomain,
        "verification_code": link.verification_code,
        "link_verification_filename": link.link_verification_filename,
    }


async def _verify_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Ask Coinetize to verify a linked website, and remember that it is verified."""
    subdomain = _linked_subdomain(coordinator, call)
    try:
        result = await coordinator.client.verify_website(
            subdomain, call.data.get(ATTR_V_FILE)
        )
    except AlreadyVerifiedError as err:
        # Verified outside Home Assistant: the state to remember all the same.
        await coordinator.async_mark_verified(subdomain)
        return {"message": err.notification}
    await coordinator.async_mark_verified(subdomain)
    return {"message": result.message}


async def _unlink_website(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Unlink a website and forget it.

    Unlike the other website actions this one also sends subdomains this entry did not
    link: Coinetize has no call that lists an account's websites, so this is the only
    way to unlink one linked elsewhere. The provider refuses subdomains that are not
    the account's.
    """
    subdomain = _subdomain(call)
    result = await coordinator.client.unlink_website(subdomain)
    if coordinator.knows_website(subdomain):
        await coordinator.async_forget_website(subdomain)
    return {"message": result.message}


def _paths_response(paths: Paths) -> dict[str, Any]:
    """Return a website's paths as the path actions answer them."""
    return {
        "enabled_paths": list(paths.enabled_paths),
        "deleted_paths": list(paths.deleted_paths),
    }


async def _add_path(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Enable a path of a linked website."""
    subdomain = _linked_subdomain(coordinator, call)
    paths = await coordinator.client.add_path(subdomain, call.data[ATTR_PATH])
    await coordinator.async_request_refresh()
    return _paths_response(paths)


async def _remove_path(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Remove a path of a linked website."""
    subdomain = _linked_subdomain(coordinator, call)
    paths = await coordinator.client.remove_path(subdomain, call.data[ATTR_PATH])
    await coordinator.async_request_refresh()
    return _paths_response(paths)


async def _website_review(coordinator: CoinetizeCoordinator, call: ServiceCall) -> Any:
    """Return the DNS A record and .htaccess code a linked website needs."""
    review = await coordinator.client.review(_linked_subdomain(coordinator, call))
    record = review.a_record
    return {
        "a_record": None
        if record is None
        else {"ip_address": record.ip_address, "website": record.website},
        "htaccess_code": review.htaccess_code,
    }


def _website_action(
    run: Callable[[CoinetizeCoordinator, ServiceCall], Awaitable[Any]],
    schema: vol.Schema,
    **options: Any,
) -> ActionDefinition[CoinetizeCoordinator]:
    return ActionDefinition(
        coordinator_type=CoinetizeCoordinator, run=run, schema=schema, **options
    )


ACTIONS: Final[dict[str, ActionDefinition[CoinetizeCoordinator]]] = {
    SERVICE_LINK_WEBSITE: _website_action(
        _link_website, LINK_WEBSITE_SCHEMA, admin=True
    ),
    SERVICE_VERIFY_WEBSITE: _website_action(
        _verify_website, VERIFY_WEBSITE_SCHEMA, admin=True
    ),
    SERVICE_UNLINK_WEBSITE: _website_action(
        _unlink_website, SUBDOMAIN_SCHEMA, admin=True
    ),
    SERVICE_ADD_PATH: _website_action(_add_path, PATH_SCHEMA, admin=True),
    SERVICE_REMOVE_PATH: _website_action(_remove_path, PATH_SCHEMA, admin=True),
    SERVICE_WEBSITE_REVIEW: _website_action(
        _website_review, SUBDOMAIN_SCHEMA, supports_response=SupportsResponse.ONLY
    ),
}
