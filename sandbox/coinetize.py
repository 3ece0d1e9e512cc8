"""The Coinetize API: signed website-linking calls with real per-account state.

Behaviour (what the client and the tests rely on):

* Every call carries ``username``, ``auth_token``, ``timestamp`` and ``signature`` (POST:
  form body, GET: query string). They are checked in this order, each refusal answered
  with HTTP 401 and ``{"status": "error", "message": …}``: ``Missing authentication
  parameters``, ``Unknown user``, ``Invalid auth token``, ``Invalid signature`` (uppercase
  hex HMAC-SHA256 keyed with the token over ``username + endpoint + timestamp``), then
  ``Invalid timestamp`` / ``Timestamp out of range`` (more than ``timestamp_tolerance``
  seconds from the sandbox clock). A refused call changes nothing. With the
  ``auth_refusal`` setting ``"document"`` (seed or admin ``/settings``) every such refusal
  is answered the document's way instead: HTTP 200 and ``Invalid login details`` for the
  credentials (``Invalid timestamp`` and ``Timestamp out of range`` keep their words).
* Accepted calls count against the account's rate limit (``rate_limit.requests`` per
  ``rate_limit.window`` seconds): beyond it HTTP 429, ``Retry-After`` and
  ``Rate limit exceeded, try again in N seconds``.
* Business refusals are HTTP 200 with ``"status": "error"``; their messages are the
  constants below. ``/add_path`` and ``/remove_path`` refusals about a known website
  also carry its ``enabled_paths`` and ``deleted_paths``.
* Every answer's ``Date`` header comes from the sandbox clock, so a client can learn the
  server's time from it.

Time comes only from ``context.clock`` and randomness only from ``context.rng``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
import hashlib
import hmac
import re
from typing import Any, Final

from aiohttp import web

from .context import SandboxContext, date_from_clock, wait_beyond_limit

LINK_METHODS: Final = ("dns", "proxy", "redirect")
PATH_METHODS: Final = frozenset({"proxy", "redirect"})
DEFAULT_TOLERANCE: Final = 300.0
DEFAULT_RATE_LIMIT: Final = 120
DEFAULT_RATE_WINDOW: Final = 60.0
DEFAULT_SERVER_IP: Final = "203.0.113.80"  # TEST-NET-3: never a real server

# Authentication refusals (HTTP 401).
MISSING_AUTH: Final = "Missing authentication parameters"
UNKNOWN_USER: Final = "Unknown user"
INVALID_TOKEN: Final = "Invalid auth token"  # noqa: S105 - a message, not a secret
INVALID_SIGNATURE: Final = "Invalid signature"
INVALID_TIMESTAMP: Final = "Invalid timestamp"
TIMESTAMP_OUT_OF_RANGE: Final = "Timestamp out of range"
# Wrong credentials answered in the document's error shape (HTTP 200).
LOGIN_REFUSED: Final = "Invalid login details"
AUTH_REFUSALS: Final = ("http_401", "document")
# Beyond the account's rate limit (HTTP 429 with Retry-After).
RATE_LIMITED: Final = "Rate limit exceeded, try again in {} seconds"
# Business refusals (HTTP 200); {} are filled in.
MISSING_PARAMETER: Final = "Missing parameter: {}"
INVALID_LINK_METHOD: Final = "Invalid link_method: use dns, proxy or redirect"
DNS_WEBSITE_REQUIRED: Final = "dns_website is required for link_method dns"
DNS_WEBSITE_NOT_ALLOWED: Final = "dns_website is only allowed for link_method dns"
INVALID_PROTOCOL: Final = "Invalid protocol: use http or https"
INVALID_PORT: Final = "Invalid port: use a number from 1 to 65535"
INVALID_PATH: Final = "Invalid path: include the leading but not the trailing /"
ALREADY_LINKED: Final = "Website {} is already linked"
UNKNOWN_SUBDOMAIN: Final = "Unknown subdomain: {}"
ALREADY_VERIFIED: Final = "Subdomain {} is already verified"
CODE_NOT_FOUND: Final = "Verification code not found on {}"
NOT_VERIFIED: Final = "Subdomain {} is not verified"
PATHS_NOT_SUPPORTED: Final = (
    "Paths are only available for the proxy and redirect link methods"
)
PATH_ALREADY_ENABLED: Final = "Path {} is already enabled"
PATH_NOT_ENABLED: Final = "Path {} is not enabled"
VERIFIED: Final = "Subdomain {} successfully verified"
UNLINKED: Final = "Subdomain {} unlinked"

# The owner published the code as a meta tag rather than in a file.
META_TAG: Final = "<meta>"

_PATH = re.compile(r"^/[^\s?#]*[^/\s?#]$")


@dataclass
class Account:
    """A website owner."""

    username: str
    auth_token: str
    recent_requests: deque[float] = field(default_factory=deque)


@dataclass
class LinkedWebsite:
    """One link handed out by ``/link_website``."""

    subdomain: str
    owner: str
    website: str
    link_method: str
    verification_code: str
    link_verification_filename: str
    dns_website: str | None = None
    protocol: str = "http"
    path: str | None = None
    port: int | None = None
    verified: bool = False
    # Where the owner placed the code: file names (without .txt) or META_TAG.
    published: set[str] = field(default_factory=set)
    enabled_paths: list[str] = field(default_factory=list)
    deleted_paths: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """Return the state for the admin API."""
        return {
            "subdomain": self.subdomain,
            "owner": self.owner,
            "website": self.website,
            "link_method": self.link_method,
            "dns_website": self.dns_website,
            "protocol": self.protocol,
            "path": self.path,
            "port": self.port,
            "verification_code": self.verification_code,
            "link_verification_filename": self.link_verification_filename,
            "verified": self.verified,
            "published": sorted(self.published),
            "enabled_paths": list(self.enabled_paths),
            "deleted_paths": list(self.deleted_paths),
        }

    def paths(self) -> dict[str, list[str]]:
        """Return the path lists as the API answers them."""
        return {
            "deleted_paths": list(self.deleted_paths),
            "enabled_paths": list(self.enabled_paths),
        }


class RefusalError(Exception):
    """A refusal, answered with ``"status": "error"``: HTTP 200 unless said otherwise."""

    def __init__(
        self,
        message: str,
        *,
        status: int = 200,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Keep the message, HTTP status and headers, and extra fields (paths)."""
        super().__init__(message)
        self.message = message
        self.status = status
        self.headers = dict(headers or {})
        self.extra = dict(extra or {})

    def response(self) -> web.Response:
        """Return the provider's error answer."""
        return web.json_response(
            {"status": "error", "message": self.message, **self.extra},
            status=self.status,
            headers=self.headers,
        )


class CoinetizeState:
    """Accounts and linked websites of the Coinetize sandbox."""

    def __init__(self, context: SandboxContext) -> None:
        """Load the seed: settings, accounts and pre-existing links."""
        seed = context.provider_seed("coinetize")
        self.clock = context.clock
        self.rng = context.rng
        self.tolerance = float(seed.get("timestamp_tolerance", DEFAULT_TOLERANCE))
        rate_limit = seed.get("rate_limit", {})
        self.rate_limit = int(rate_limit.get("requests", DEFAULT_RATE_LIMIT))
        self.rate_window = float(rate_limit.get("window", DEFAULT_RATE_WINDOW))
        self.auto_verify = bool(seed.get("auto_verify", False))
        self.server_ip = str(seed.get("server_ip", DEFAULT_SERVER_IP))
        self.auth_refusal = str(seed.get("auth_refusal", "http_401"))
        self.accounts: dict[str, Account] = {
            user["username"]: Account(user["username"], user["auth_token"])
            for user in seed.get("users", [])
        }
        self.websites: dict[str, LinkedWebsite] = {}
        for site in seed.get("websites", []):
            linked = LinkedWebsite(**site)
            linked.published = set(linked.published)  # JSON has lists
            self.websites[linked.subdomain] = linked

    # Authentication and limits

    def authenticate(self, endpoint: str, params: Mapping[str, str]) -> Account:
        """Return the signing account, or raise the refusal ``auth_refusal`` asks for."""
        try:
            return self._check_signature(endpoint, params)
        except RefusalError as refusal:
            if self.auth_refusal != "document":
                raise
            if refusal.message in {INVALID_TIMESTAMP, TIMESTAMP_OUT_OF_RANGE}:
                raise RefusalError(refusal.message) from None
            raise RefusalError(LOGIN_REFUSED) from None

    def _check_signature(self, endpoint: str, params: Mapping[str, str]) -> Account:
        """Return the signing account, or raise the HTTP 401 refusal."""
        username = params.get("username", "")
        auth_token = params.get("auth_token", "")
        timestamp = params.get("timestamp", "")
        signature = params.get("signature", "")
        if not (username and auth_token and timestamp and signature):
            raise _unauthorized(MISSING_AUTH)
        account = self.accounts.get(username)
        if account is None:
            raise _unauthorized(UNKNOWN_USER)
        if not hmac.compare_digest(auth_token.encode(), account.auth_token.encode()):
            raise _unauthorized(INVALID_TOKEN)
        expected = (
            hmac.new(
                account.auth_token.encode(),
                f"{username}{endpoint}{timestamp}".encode(),
                hashlib.sha256,
            )
            .hexdigest()
            .upper()
        )
        if not hmac.compare_digest(signature.encode(), expected.encode()):
            raise _unauthorized(INVALID_SIGNATURE)
        try:
            signed_at = int(timestamp)
        except ValueError:
            raise _unauthorized(INVALID_TIMESTAMP) from None
        if abs(signed_at - self.clock.now()) > self.tolerance:
            raise _unauthorized(TIMESTAMP_OUT_OF_RANGE)
        return account

    def count_request(self, account: Account) -> None:
        """Count an accepted call, or raise HTTP 429 beyond the account's limit."""
        wait = wait_beyond_limit(
            account.recent_requests, self.clock.now(), self.rate_limit, self.rate_window
        )
        if wait is not None:
            raise RefusalError(
                RATE_LIMITED.format(wait),
                status=429,
                headers={"Retry-After": str(wait)},
            )

    # Endpoints

    def link_website(
        self, account: Account, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Create a link, or change the link of an existing ``subdomain``."""
        website = _required(params, "website")
        link_method = _required(params, "link_method")
        if link_method not in LINK_METHODS:
            raise RefusalError(INVALID_LINK_METHOD)
        dns_website = params.get("dns_website") or None
        if link_method == "dns" and dns_website is None:
            raise RefusalError(DNS_WEBSITE_REQUIRED)
        if link_method != "dns" and dns_website is not None:
            raise RefusalError(DNS_WEBSITE_NOT_ALLOWED)
        protocol = params.get("protocol") or "http"
        if protocol not in {"http", "https"}:
            raise RefusalError(INVALID_PROTOCOL)
        port = _port(params.get("port"))
        path = params.get("path") or None
        if path is not None and not _PATH.match(path):
            raise RefusalError(INVALID_PATH)
        if subdomain := params.get("subdomain"):
            linked = self.owned(account, subdomain)
            if linked.website != website:  # another website must be verified again
                linked.verified = False
                linked.published.clear()
        else:
            if self._find(website, path, dns_website) is not None:
                raise RefusalError(ALREADY_LINKED.format(website))
            linked = LinkedWebsite(
                subdomain=self._new_subdomain(),
                owner=account.username,
                website=website,
                link_method=link_method,
                verification_code=f"{self.rng.getrandbits(128):032x}",
                link_verification_filename=f"coinetize-{self.rng.getrandbits(32):08x}",
            )
            if self.auto_verify:
                linked.published.add(META_TAG)
            self.websites[linked.subdomain] = linked
        linked.website, linked.link_method = website, link_method
        linked.dns_website, linked.protocol = dns_website, protocol
        linked.path, linked.port = path, port
        return {
            "link_verification_filename": linked.link_verification_filename,
            "verification_code": linked.verification_code,
            "subdomain": linked.subdomain,
        }

    def verify_website(
        self, account: Account, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Verify a link once the owner published its code."""
        linked = self.owned(account, _required(params, "subdomain"))
        if linked.verified:
            raise RefusalError(ALREADY_VERIFIED.format(linked.subdomain))
        if v_file := params.get("v_file"):
            places = {v_file}
        else:  # the meta tag first, then the default file
            places = {META_TAG, linked.link_verification_filename}
        if not places & linked.published:
            raise RefusalError(CODE_NOT_FOUND.format(linked.website))
        linked.verified = True
        return {"message": VERIFIED.format(linked.subdomain)}

    def unlink_website(
        self, account: Account, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Forget a link, verified or not."""
        linked = self.owned(account, _required(params, "subdomain"))
        del self.websites[linked.subdomain]
        return {"message": UNLINKED.format(linked.subdomain)}

    def add_path(self, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
        """Enable a path (a deleted one comes back)."""
        linked, path = self._path_edit(account, params)
        if path in linked.enabled_paths:
            raise RefusalError(PATH_ALREADY_ENABLED.format(path), extra=linked.paths())
        if path in linked.deleted_paths:
            linked.deleted_paths.remove(path)
        linked.enabled_paths.append(path)
        return linked.paths()

    def remove_path(
        self, account: Account, params: Mapping[str, str]
    ) -> dict[str, Any]:
        """Remove an enabled path; it is listed as deleted from then on."""
        linked, path = self._path_edit(account, params)
        if path not in linked.enabled_paths:
            raise RefusalError(PATH_NOT_ENABLED.format(path), extra=linked.paths())
        linked.enabled_paths.remove(path)
        linked.deleted_paths.append(path)
        return linked.paths()

    def list_paths(self, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
        """List the paths of a verified proxy or redirect website."""
        linked = self._with_paths(account, _required(params, "subdomain"))
        return linked.paths()

    def review(self, account: Account, params: Mapping[str, str]) -> dict[str, Any]:
        """Return the .htaccess code, and the A record of a dns link."""
        linked = self.owned(account, _required(params, "subdomain"))
        answer: dict[str, Any] = {"htaccess_code": self._htaccess(linked)}
        if linked.link_method == "dns":
            answer["a_record"] = {
                "ip_address": self.server_ip,
                "website": linked.dns_website,
            }
        return answer

    # Helpers

    def owned(self, account: Account, subdomain: str) -> LinkedWebsite:
        """Return the account's link, refusing other accounts' ones as unknown."""
        linked = self.websites.get(subdomain)
        if linked is None or linked.owner != account.username:
            raise RefusalError(UNKNOWN_SUBDOMAIN.format(subdomain))
        return linked

    def _with_paths(self, account: Account, subdomain: str) -> LinkedWebsite:
        linked = self.owned(account, subdomain)
        if not linked.verified:
            raise RefusalError(NOT_VERIFIED.format(subdomain), extra=linked.paths())
        if linked.link_method not in PATH_METHODS:
            raise RefusalError(PATHS_NOT_SUPPORTED, extra=linked.paths())
        return linked

    def _path_edit(
        self, account: Account, params: Mapping[str, str]
    ) -> tuple[LinkedWebsite, str]:
        linked = self._with_paths(account, _required(params, "subdomain"))
        path = params.get("path", "")
        if not _PATH.match(path):
            raise RefusalError(INVALID_PATH, extra=linked.paths())
        return linked, path

    def _find(
        self, website: str, path: str | None, dns_website: str | None
    ) -> LinkedWebsite | None:
        for linked in self.websites.values():
            if (linked.website, linked.path, linked.dns_website) == (
                website,
                path,
                dns_website,
            ):
                return linked
        return None

    def _new_subdomain(self) -> str:
        while (subdomain := f"site-{self.rng.getrandbits(24):06x}") in self.websites:
            pass  # pragma: no cover - a collision needs 2**24 links
        return subdomain

    def _htaccess(self, linked: LinkedWebsite) -> str:
        host = re.escape(linked.dns_website or linked.website)
        prefix = (linked.path or "").lstrip("/")
        pattern = f"^{prefix}/?(.*)$" if prefix else "^(.*)$"
        flags = "[R=302,L]" if linked.link_method == "redirect" else "[P,L]"
        return (
            "Options +FollowSymLinks\n"
            "RewriteEngine On\n"
            f"RewriteCond %{{HTTP_HOST}} ^{host}$ [NC]\n"
            f"RewriteRule {pattern} "
            f"{linked.protocol}://{linked.subdomain}.coinetize.com/$1 {flags}\n"
        )


def _unauthorized(message: str) -> RefusalError:
    return RefusalError(message, status=401)


def _required(params: Mapping[str, str], name: str) -> str:
    value = params.get(name)
    if not value:
        raise RefusalError(MISSING_PARAMETER.format(name))
    return value


def _port(value: str | None) -> int | None:
    if not value:
        return None
    try:
        port = int(value)
    except ValueError:
        raise RefusalError(INVALID_PORT) from None
    if not 1 <= port <= 65535:
        raise RefusalError(INVALID_PORT)
    return port


Operation = Callable[[CoinetizeState, Account, Mapping[str, str]], dict[str, Any]]

# endpoint -> (HTTP method, operation)
ENDPOINTS: Final[dict[str, tuple[str, Operation]]] = {
    "/link_website": ("POST", CoinetizeState.link_website),
    "/verify_website": ("POST", CoinetizeState.verify_website),
    "/unlink_website": ("POST", CoinetizeState.unlink_website),
    "/add_path": ("POST", CoinetizeState.add_path),
    "/remove_path": ("POST", CoinetizeState.remove_path),
    "/list_paths": ("GET", CoinetizeState.list_paths),
    "/review": ("GET", CoinetizeState.review),
}


def _handler(
    state: CoinetizeState, endpoint: str, operation: Operation
) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        params: Mapping[str, str]
        if request.method == "POST":
            form = await request.post()
            params = {key: str(value) for key, value in form.items()}
        else:
            params = request.query
        try:
            account = state.authenticate(endpoint, params)
            state.count_request(account)
            answer = operation(state, account, params)
        except RefusalError as refusal:
            return refusal.response()
        return web.json_response({"status": "success", **answer})

    return handle


def create_apps(context: SandboxContext) -> tuple[web.Application, web.Application]:
    """Return the API app (mounted at ``/coinetize``) and its admin app."""
    state = CoinetizeState(context)
    api = web.Application()
    for endpoint, (method, operation) in ENDPOINTS.items():
        api.router.add_route(method, endpoint, _handler(state, endpoint, operation))

    date_from_clock(api, context.clock)
    return api, _admin_app(state)


def _admin_app(state: CoinetizeState) -> web.Application:
    """Routes tests and the demo use to look at and steer the provider."""
    admin = web.Application()
    routes = web.RouteTableDef()

    @routes.get("/websites")
    async def list_websites(request: web.Request) -> web.Response:
        by_owner: dict[str, list[dict[str, Any]]] = {
            name: [] for name in state.accounts
        }
        for linked in state.websites.values():
            by_owner.setdefault(linked.owner, []).append(linked.as_dict())
        return web.json_response(by_owner)

    @routes.get("/websites/{subdomain}")
    async def show_website(request: web.Request) -> web.Response:
        linked = _linked_or_404(state, request.match_info["subdomain"])
        return web.json_response(linked.as_dict())

    @routes.post("/websites/{subdomain}/publish")
    async def publish_code(request: web.Request) -> web.Response:
        """Place the code on the website: ``{"filename": …}`` or ``{"meta": true}``."""
        linked = _linked_or_404(state, request.match_info["subdomain"])
        body = await request.json() if request.can_read_body else {}
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="expected a JSON object")
        if body.get("meta"):
            linked.published.add(META_TAG)
        else:
            linked.published.add(
                str(body.get("filename") or linked.link_verification_filename)
            )
        return web.json_response(linked.as_dict())

    @routes.get("/settings")
    async def show_settings(request: web.Request) -> web.Response:
        return web.json_response({"auth_refusal": state.auth_refusal})

    @routes.post("/settings")
    async def change_settings(request: web.Request) -> web.Response:
        """Choose how wrong credentials are answered: ``{"auth_refusal": …}``."""
        body = await request.json()
        refusal = body.get("auth_refusal") if isinstance(body, dict) else None
        if refusal not in AUTH_REFUSALS:
            raise web.HTTPBadRequest(
                text=f"auth_refusal must be one of {AUTH_REFUSALS}"
            )
        state.auth_refusal = refusal
        return web.json_response({"auth_refusal": state.auth_refusal})

    @routes.get("/users")
    async def list_users(request: web.Request) -> web.Response:
        return web.json_response(sorted(state.accounts))

    @routes.post("/users")
    async def create_user(request: web.Request) -> web.Response:
        body = await request.json()
        username = body.get("username") if isinstance(body, dict) else None
        if not isinstance(username, str) or not username:
            raise web.HTTPBadRequest(text="username is required")
        if username in state.accounts:
            raise web.HTTPConflict(text="username already exists")
        auth_token = body.get("auth_token") or f"{state.rng.getrandbits(160):040x}"
        state.accounts[username] = Account(username, str(auth_token))
        return web.json_response(
            {"username": username, "auth_token": str(auth_token)}, status=201
        )

    @routes.post("/users/{username}/token")
    async def rotate_token(request: web.Request) -> web.Response:
        """Issue a new token, as the profile page does: the old one stops working."""
        account = state.accounts.get(request.match_info["username"])
        if account is None:
            raise web.HTTPNotFound(text="unknown user")
        account.auth_token = f"{state.rng.getrandbits(160):040x}"
        return web.json_response(
            {"username": account.username, "auth_token": account.auth_token}
        )

    admin.add_routes(routes)
    return admin


def _linked_or_404(state: CoinetizeState, subdomain: str) -> LinkedWebsite:
    linked = state.websites.get(subdomain)
    if linked is None:
        raise web.HTTPNotFound(text="unknown subdomain")
    return linked
