"""Async client of the Coinetize website-linking API.

Every call is signed: ``signature`` is the uppercase hex HMAC-SHA256, keyed with the
account's ``auth_token``, of ``username + endpoint + timestamp``. A signed timestamp
breaks on a skewed clock, so the client learns the server's time from the ``Date``
header of every answer and retries a timestamp refusal once with what it learned.

The document makes ``auth_token`` a basic parameter of every call, so it is sent with
each one (and signs it). The token and the signature are never part of an error message
or a repr: GET calls carry them in the query string, so no URL is ever formatted into an
error, and provider text is scrubbed of the token before it is quoted.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import Enum, auto
import hashlib
import hmac
import ipaddress
import re
import time
from typing import Any, Final

import aiohttp
from yarl import URL

from .._http import (
    Answer,
    Call,
    ProviderClient,
    decode_json_object,
    retry_after_seconds,
)
from ..exceptions import (
    AuthenticationError,
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    ProviderRefusedError,
    RateLimitedError,
)
from .models import LinkMethod, LinkResult, MessageResult, Paths, Review

DEFAULT_BASE_URL: Final = "https://api.coinetize.com"
PROTOCOLS: Final = frozenset({"http", "https"})
# Never a real subdomain: an underscore is not allowed in a host name.
CREDENTIALS_PROBE_SUBDOMAIN: Final = "_coinhub_credentials_check"

_CONTROL_OR_SPACE = re.compile(r"[\s\x00-\x1f\x7f]")
_MAX_HOST_LENGTH = 253
# One label of a host name: letters, digits and inner hyphens, at most 63 characters.
_HOST_LABEL = re.compile(r"(?!-)[A-Za-z0-9-]{1,63}(?<!-)")
_MAX_PATH_LENGTH = 255


class PathsRefusedError(ProviderRefusedError):
    """``/add_path`` or ``/remove_path`` was refused; the answer told the current paths."""

    def __init__(self, notification: str, paths: Paths | None) -> None:
        """Keep the paths the refusal reported, when it reported them."""
        super().__init__(notification)
        self.paths = paths


class TimestampRefusedError(ProviderRefusedError):
    """The provider refused the call's timestamp, also after correcting the clock offset.

    Nothing was applied. It says nothing about whether the credentials are good.
    """


class AlreadyVerifiedError(ProviderRefusedError):
    """The website is verified already (perhaps outside this client): nothing to do."""


class CredentialsUncheckedError(CoinHubError):
    """The credentials check was refused for a reason that says nothing about them.

    Neither an authentication refusal nor one about the probed subdomain: whether the
    credentials are good cannot be told, so they must not be accepted.
    """


# What a refusal of the credentials probe may say. Words about the login, the user, a
# token, the signature or authentication: the credentials were refused. Words about the
# probed subdomain or a website: they were accepted and the made-up subdomain was not.
_PROBE_REFUSED_CREDENTIALS: Final = re.compile(
    r"log ?-?in|\buser(?:name)?s?\b|token|signature|authenticat|credential|"
    r"unauthori[sz]ed|password",
    re.IGNORECASE,
)
_PROBE_ABOUT_THE_SUBDOMAIN: Final = re.compile(
    rf"subdomain|website|{re.escape(CREDENTIALS_PROBE_SUBDOMAIN)}", re.IGNORECASE
)


class RefusalKind(Enum):
    """What a provider error message means to the client."""

    AUTHENTICATION = auto()
    TIMESTAMP = auto()
    RATE_LIMIT = auto()
    ALREADY_VERIFIED = auto()
    OTHER = auto()


# The provider's error messages, recognised in this one place. The sandbox's messages
# ("Unknown user", "Invalid auth token", "Invalid signature", "Missing authentication
# parameters", "Timestamp out of range", "Rate limit exceeded…") are matched loosely so
# a reworded provider message still lands in the right class.
_REFUSAL_PATTERNS: Final = (
    (
        RefusalKind.RATE_LIMIT,
        re.compile(r"rate.?limit|too many requests", re.IGNORECASE),
    ),
    (RefusalKind.TIMESTAMP, re.compile(r"timestamp", re.IGNORECASE)),
    (RefusalKind.ALREADY_VERIFIED, re.compile(r"already verified", re.IGNORECASE)),
    (
        RefusalKind.AUTHENTICATION,
        re.compile(
            r"signature|unknown user|auth.?token|authenticat|unauthori[sz]ed|"
            r"invalid (?:user|credentials)|\blog ?-?in\b",
            re.IGNORECASE,
        ),
    ),
)


def classify_refusal(message: str) -> RefusalKind:
    """Tell what kind of refusal a provider error message is."""
    for refusal, pattern in _REFUSAL_PATTERNS:
        if pattern.search(message):
            return refusal
    return RefusalKind.OTHER


def sign(auth_token: str, username: str, endpoint: str, timestamp: int) -> str:
    """Return the documented signature of one call (uppercase hex HMAC-SHA256)."""
    return Signer(auth_token, username)(endpoint, timestamp)


class Signer:
    """Sign the calls of one account.

    Keyed once: each signature starts from a copy of the keyed state, which costs less
    than keying again (most of all on a poll, when little of it is in the caches).
    """

    def __init__(self, auth_token: str, username: str) -> None:
        """Key the signatures with ``auth_token``."""
        self._keyed = hmac.new(auth_token.encode(), digestmod=hashlib.sha256)
        self._username = username

    def __repr__(self) -> str:
        """Name nothing of the account."""
        return "Signer()"

    def __call__(self, endpoint: str, timestamp: int) -> str:
        """Return the signature of a call of ``endpoint`` at ``timestamp``."""
        mac = self._keyed.copy()
        mac.update(f"{self._username}{endpoint}{timestamp}".encode())
        return mac.hexdigest().upper()


# An HTTP date as servers send it (RFC 9110's IMF-fixdate), read without the general
# e-mail date parser; anything else goes to that parser.
_IMF_FIXDATE: Final = re.compile(
    r"[A-Z][a-z]{2}, (\d{2}) ([A-Z][a-z]{2}) (\d{4}) (\d{2}):(\d{2}):(\d{2}) GMT"
)
# English names whatever the locale (``calendar.month_abbr`` follows it).
_MONTHS: Final = {
    name: number
    for number, name in enumerate(
        "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split(),  # noqa: SIM905
        start=1,
    )
}


def http_date_timestamp(value: str) -> float:
    """Return the unix time of an HTTP ``Date``; raises ``ValueError`` if unreadable."""
    try:
        if (fixdate := _IMF_FIXDATE.fullmatch(value)) is not None and (
            month := _MONTHS.get(fixdate[2])
        ):
            day, year, hour, minute, second = map(int, fixdate.group(1, 3, 4, 5, 6))
            return datetime(
                year, month, day, hour, minute, second, tzinfo=UTC
            ).timestamp()
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError) as err:
        raise ValueError(f"not an HTTP date: {value!r}") from err


# Each endpoint is its path; a write is a POST with a side effect, a read a GET.
_LINK_WEBSITE: Final = Call("/link_website", writes=True)
_VERIFY_WEBSITE: Final = Call("/verify_website", writes=True)
_UNLINK_WEBSITE: Final = Call("/unlink_website", writes=True)
_ADD_PATH: Final = Call("/add_path", writes=True)
_REMOVE_PATH: Final = Call("/remove_path", writes=True)
_PATH_EDITS: Final = frozenset({_ADD_PATH, _REMOVE_PATH})
_LIST_PATHS: Final = Call("/list_paths", writes=False)
_REVIEW: Final = Call("/review", writes=False)


class CoinetizeClient(ProviderClient):
    """Signed calls to the Coinetize API for one website owner.

    The session is injected and never closed here. Side-effecting calls are sent at most
    once (except after a timestamp refusal, which proves nothing was applied); when their
    answer is lost they raise :class:`OutcomeUnknownError`.
    """

    provider = "Coinetize"

    def __init__(
        self,
        session: aiohttp.ClientSession,
        username: str,
        auth_token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        request_timeout: float = 10,
    ) -> None:
        """Keep the account's credentials; nothing is sent until a call is made."""
        super().__init__(session, base_url=base_url, request_timeout=request_timeout)
        self._username = _checked_text("username", username)
        self._auth_token = _checked_text("auth_token", auth_token)
        self._sign = Signer(self._auth_token, self._username)
        self._clock_offset = 0.0

    def _secrets(self) -> tuple[str, ...]:
        return (self._auth_token,)

    def __repr__(self) -> str:
        """Name the account and server, never the token."""
        return (
            f"CoinetizeClient(username={self._username!r}, base_url={self._base_url!r})"
        )

    @property
    def username(self) -> str:
        """The website owner this client signs for."""
        return self._username

    @property
    def clock_offset(self) -> float:
        """Seconds the server's clock is ahead of the local one, as last learned."""
        return self._clock_offset

    async def link_website(
        self,
        website: str,
        link_method: LinkMethod | str,
        *,
        dns_website: str | None = None,
        subdomain: str | None = None,
        protocol: str | None = None,
        path: str | None = None,
        port: int | None = None,
    ) -> LinkResult:
        """Link a website, or change the link of ``subdomain`` when it is given.

        The answer is handed out once: the caller must remember it.
        """
        method = _checked_link_method(link_method)
        params = {
            "website": _checked_host("website", website, ip_address_allowed=True),
            "link_method": method.value,
        }
        if dns_website is not None:
            if method is not LinkMethod.DNS:
                raise InvalidInputError(
                    "dns_website", "is only allowed with the dns link method"
                )
            params["dns_website"] = _checked_host("dns_website", dns_website)
        if subdomain is not None:
            params["subdomain"] = _checked_subdomain(subdomain)
        if protocol is not None:
            if protocol.lower() not in PROTOCOLS:
                raise InvalidInputError("protocol", "must be http or https")
            params["protocol"] = protocol.lower()
        if path is not None:
            params["path"] = _checked_path(path)
        if port is not None:
            params["port"] = str(_checked_port(port))
        return await self._call(_LINK_WEBSITE, params, LinkResult.from_api)

    async def verify_website(
        self, subdomain: str, v_file: str | None = None
    ) -> MessageResult:
        """Ask Coinetize to find the verification code on the linked website.

        ``v_file`` names the file holding the code, without its ``.txt`` extension;
        without it the provider looks for the meta tag, then the default file.
        """
        params = {"subdomain": _checked_subdomain(subdomain)}
        if v_file is not None:
            params["v_file"] = _checked_v_file(v_file)
        return await self._call(_VERIFY_WEBSITE, params, MessageResult.from_api)

    async def unlink_website(self, subdomain: str) -> MessageResult:
        """Unlink a website, verified or not."""
        params = {"subdomain": _checked_subdomain(subdomain)}
        return await self._call(_UNLINK_WEBSITE, params, MessageResult.from_api)

    async def add_path(self, subdomain: str, path: str) -> Paths:
        """Enable a path of a verified proxy or redirect website."""
        params = {
            "subdomain": _checked_subdomain(subdomain),
            "path": _checked_path(path),
        }
        return await self._call(_ADD_PATH, params, Paths.from_api)

    async def remove_path(self, subdomain: str, path: str) -> Paths:
        """Remove a path of a verified proxy or redirect website."""
        params = {
            "subdomain": _checked_subdomain(subdomain),
            "path": _checked_path(path),
        }
        return await self._call(_REMOVE_PATH, params, Paths.from_api)

    async def list_paths(self, subdomain: str) -> Paths:
        """Return the paths of a verified proxy or redirect website."""
        params = {"subdomain": _checked_subdomain(subdomain)}
        return await self._call(_LIST_PATHS, params, Paths.from_api)

    async def review(self, subdomain: str) -> Review:
        """Return what the owner must configure: the DNS A record and .htaccess code."""
        params = {"subdomain": _checked_subdomain(subdomain)}
        return await self._call(_REVIEW, params, Review.from_api)

    async def validate_credentials(self) -> None:
        """Raise :class:`AuthenticationError` unless the credentials are accepted.

        There is no "who am I" call: this signs a read of a subdomain that cannot exist.
        Only a refusal about that subdomain (e.g. "Unknown subdomain") proves the
        credentials were accepted. A refusal speaking of the login, user, token,
        signature or authentication means they were not, whatever its HTTP status
        (the document answers errors with HTTP 200). Any other refusal raises
        :class:`CredentialsUncheckedError` with the provider's words (never the token).
        """
        try:
            await self._call(
                _REVIEW, {"subdomain": CREDENTIALS_PROBE_SUBDOMAIN}, Review.from_api
            )
        except TimestampRefusedError:
            raise
        except ProviderRefusedError as err:
            message = err.notification
            # The probed name itself speaks of credentials: it is not the refusal's word.
            words = message.replace(CREDENTIALS_PROBE_SUBDOMAIN, "")
            if _PROBE_REFUSED_CREDENTIALS.search(words):
                raise AuthenticationError(
                    f"Coinetize refused the credentials: {message}"
                ) from None
            if _PROBE_ABOUT_THE_SUBDOMAIN.search(message):
                return
            raise CredentialsUncheckedError(
                "Coinetize refused the credentials check without saying whether the "
                f"credentials are good: {message}"
            ) from None

    async def _call[T](
        self,
        endpoint: Call,
        params: Mapping[str, str],
        parse: Callable[[Mapping[str, Any]], T],
    ) -> T:
        """Send a signed call and parse its success into a model."""
        return self._parsed(endpoint, parse, await self._exchange(endpoint, params))

    async def _exchange(
        self, endpoint: Call, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Send a signed call; send it once more if its timestamp was refused."""
        offset_before = self._clock_offset
        try:
            return await self._send(endpoint, params)
        except TimestampRefusedError:
            if self._clock_offset == offset_before:
                raise  # the answer taught nothing new about the server's clock
        # Refused before anything was applied, so a write may be sent again too.
        return await self._send(endpoint, params)

    async def _send(self, endpoint: Call, params: Mapping[str, str]) -> dict[str, Any]:
        timestamp = int(time.time() + self._clock_offset)
        signed = {
            **params,
            "username": self._username,
            "auth_token": self._auth_token,
            "timestamp": str(timestamp),
            "signature": self._sign(endpoint.name, timestamp),
        }
        url = URL(self._base_url + endpoint.name, encoded=True)
        # GET calls carry the token in the query string: the transport never lets
        # the URL into an error.
        if endpoint.writes:
            answer = await self._request("POST", url, endpoint, data=signed)
        else:
            answer = await self._request("GET", url, endpoint, params=signed)
        return self._read(endpoint, answer)

    def _read(self, endpoint: Call, answer: Answer) -> dict[str, Any]:
        """Return an answer's successful body, or raise what the answer means."""
        status, headers = answer.status, answer.headers
        self._learn_clock(headers.get("Date"))
        retry_after = retry_after_seconds(headers.get("Retry-After"))
        if status in {429, 503}:
            raise RateLimitedError(
                "Coinetize is refusing requests for now (too many requests)",
                retry_after=retry_after,
            )
        body = decode_json_object(answer.body)
        if status >= 500:
            # A failing server may still wrap its trouble in the error shape; that
            # is no refusal of the request (and no verdict on a website).
            message = None if body is None else body.get("message")
            raise self._server_fault(
                endpoint,
                status,
                self._scrubbed(message) if isinstance(message, str) else None,
            )
        if body is not None and body.get("status") == "error":
            raise self._refusal(endpoint, body, status, retry_after)
        if body is not None and body.get("status") == "success" and status < 400:
            return body
        raise self._unreadable(endpoint, status)

    def _learn_clock(self, date_header: str | None) -> None:
        """Keep the offset between the server's ``Date`` and the local clock."""
        if not date_header:
            return
        try:
            server_time = http_date_timestamp(date_header)
        except ValueError:
            return
        # Date has whole seconds: the server's time lies within the next second.
        self._clock_offset = round(server_time + 0.5 - time.time(), 3)

    def _refusal(
        self,
        endpoint: Call,
        body: Mapping[str, Any],
        status: int,
        retry_after: float | None,
    ) -> CoinHubError:
        """Turn an ``"error"`` answer into the exception its message stands for."""
        message = self._scrubbed(body.get("message"))
        match classify_refusal(message):
            case RefusalKind.RATE_LIMIT:
                return RateLimitedError(
                    f"Coinetize: {message}", retry_after=retry_after
                )
            case RefusalKind.TIMESTAMP:
                return TimestampRefusedError(message)
            case RefusalKind.ALREADY_VERIFIED:
                return AlreadyVerifiedError(message)
            case RefusalKind.AUTHENTICATION:
                return AuthenticationError(
                    f"Coinetize refused the credentials: {message}"
                )
        if status == 401:
            return AuthenticationError(f"Coinetize refused the credentials: {message}")
        if endpoint in _PATH_EDITS:
            return PathsRefusedError(message, _paths_of_refusal(body))
        return ProviderRefusedError(message)


def _paths_of_refusal(body: Mapping[str, Any]) -> Paths | None:
    """Return the paths an add/remove refusal reported, if it reported them."""
    if "enabled_paths" not in body and "deleted_paths" not in body:
        return None
    try:
        return Paths.from_api(body)
    except CannotConnectError:
        return None


def _checked_text(field: str, value: str) -> str:
    if not isinstance(value, str) or not value:
        raise InvalidInputError(field, "must not be empty")
    if _CONTROL_OR_SPACE.search(value):
        raise InvalidInputError(
            field, "must not contain whitespace or control characters"
        )
    return value


def _checked_link_method(value: LinkMethod | str) -> LinkMethod:
    try:
        return LinkMethod(value)
    except ValueError:
        raise InvalidInputError(
            "link_method", "must be one of dns, proxy or redirect"
        ) from None


def _checked_host(field: str, value: str, *, ip_address_allowed: bool = False) -> str:
    """Return ``value`` if it is a host name (or, when allowed, an IP address).

    Anything else — ``..``, a scheme, a path, a port, an empty label — is refused before
    it is sent.
    """
    host = _checked_text(field, value)
    if len(host) > _MAX_HOST_LENGTH:
        raise InvalidInputError(field, "is too long")
    if ip_address_allowed:
        try:
            ipaddress.ip_address(host)
        except ValueError:
            pass
        else:
            return host
    labels = host.split(".")
    # A top-level domain is never all digits: "10.0.0.1" is an address, not a name.
    if labels[-1].isdigit() or not all(_HOST_LABEL.fullmatch(part) for part in labels):
        raise InvalidInputError(
            field,
            "must be a host name or IP address only, without scheme or path"
            if ip_address_allowed
            else "must be a host name only, without scheme or path",
        )
    return host


def _checked_subdomain(value: str) -> str:
    subdomain = _checked_text("subdomain", value)
    if "/" in subdomain or len(subdomain) > _MAX_HOST_LENGTH:
        raise InvalidInputError("subdomain", "is not a Coinetize subdomain")
    return subdomain


def _checked_path(value: str) -> str:
    path = _checked_text("path", value)
    if not path.startswith("/") or path.endswith("/"):
        raise InvalidInputError("path", "must start with / and not end with /")
    if "?" in path or "#" in path or ".." in path.split("/"):
        raise InvalidInputError("path", "must be a plain path without ?, # or ..")
    if len(path) > _MAX_PATH_LENGTH:
        raise InvalidInputError("path", "is too long")
    return path


def _checked_port(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 65535:
        raise InvalidInputError("port", "must be a whole number from 1 to 65535")
    return value


def _checked_v_file(value: str) -> str:
    name = _checked_text("v_file", value)
    if "/" in name or "\\" in name or name in {".", ".."}:
        raise InvalidInputError("v_file", "must be a file name, not a path")
    if name.lower().endswith(".txt"):
        raise InvalidInputError("v_file", "must not include the .txt extension")
    return name
