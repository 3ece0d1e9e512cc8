"""The transport the provider clients share: one request path, one error policy.

:class:`ProviderClient` sends every request of every client. Its rules:

* a write (a call with a side effect) is sent at most once — never redirected, never
  silently re-sent by aiohttp after a dropped connection — and an answer lost after it
  was sent raises :class:`OutcomeUnknownError`;
* anything else that goes wrong on the way raises :class:`CannotConnectError`;
* no aiohttp exception is ever chained or quoted: they carry URLs, and URLs carry
  credentials.

A request returns its :class:`Answer` (status, headers and the whole body); what a
provider's answers mean stays in its client, which reads that answer without another
coroutine: a poll's request passes through as few as it can (scripts/bench).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
import gc
import json
import re
import threading
from typing import Any, ClassVar, NamedTuple
from urllib.parse import quote

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from .exceptions import (
    CannotConnectError,
    CoinHubError,
    InvalidInputError,
    OutcomeUnknownError,
)

# Anything that could change which endpoint a URL names, or how it is parsed.
_UNSAFE_SEGMENT = re.compile(r"[/\\?#%\s\x00-\x1f\x7f]")


def safe_segment(field: str, value: str) -> str:
    """Return ``value`` percent-encoded for one URL path segment, or refuse it.

    Slashes, dot segments, ``%`` (so ``%2F`` cannot be decoded on the way), ``?``, ``#``,
    whitespace and control characters are refused before anything is sent.
    """
    if not value:
        raise InvalidInputError(field, "must not be empty")
    if value in {".", ".."} or _UNSAFE_SEGMENT.search(value):
        raise InvalidInputError(
            field, "contains characters that are not allowed in a URL"
        )
    return quote(value, safe="")


def join_url(
    base_url: str, segments: Iterable[str], *, trailing_slash: bool = False
) -> URL:
    """Join already encoded segments to ``base_url``.

    The URL is marked as encoded, so aiohttp neither normalises nor decodes it again.
    """
    url = base_url.rstrip("/") + "/" + "/".join(segments)
    return URL(url + "/" if trailing_slash else url, encoded=True)


type ObjectHook = Callable[[dict[str, Any]], Any]


def decode_json(
    raw: bytes,
    *,
    parse_float: Callable[[str], Any] = float,
    object_hook: ObjectHook | None = None,
) -> Any:
    """Parse a body as JSON whatever content type it came with; ``None`` if it is not."""
    try:
        return _decoder(parse_float, object_hook).decode(
            raw.decode("utf-8", errors="replace")
        )
    except ValueError:
        return None


@cache
def _decoder(
    parse_float: Callable[[str], Any], object_hook: ObjectHook | None
) -> json.JSONDecoder:
    """Return the decoder of one way of decoding, made once and shared.

    As ``json`` shares its own default decoder: one is safe in every thread, and
    ``json.loads`` with options would build a new one for every body.
    """
    return json.JSONDecoder(parse_float=parse_float, object_hook=object_hook)


def decode_json_object(
    raw: bytes,
    *,
    parse_float: Callable[[str], Any] = float,
    object_hook: ObjectHook | None = None,
) -> dict[str, Any] | None:
    """Parse a body that should be a JSON object; ``None`` if it is anything else."""
    body = decode_json(raw, parse_float=parse_float, object_hook=object_hook)
    return body if isinstance(body, dict) else None


# Collections paused by decoders, and whether the collector ran before the first.
_collection_pauses = 0
_collection_was_enabled = False
_collection_lock = threading.Lock()


@contextmanager
def collection_paused() -> Iterator[None]:
    """Keep the garbage collector from running while a long body is decoded.

    Decoding a long body allocates hundreds of thousands of objects, which would set
    off collections of the whole heap part-way through — most of the time a long
    decode holds the interpreter. None of those objects form cycles, so nothing is
    left for the collector afterwards. Safe across threads: the collector is back on
    when the last pause ends (if it was on before the first).
    """
    global _collection_pauses, _collection_was_enabled  # noqa: PLW0603
    with _collection_lock:
        if _collection_pauses == 0:
            _collection_was_enabled = gc.isenabled()
            gc.disable()
        _collection_pauses += 1
    try:
        yield
    finally:
        with _collection_lock:
            _collection_pauses -= 1
            if _collection_pauses == 0 and _collection_was_enabled:
                gc.enable()


def pass_through(value: dict[str, Any]) -> dict[str, Any]:
    """Return a decoded object as it is: an ``object_hook`` that lets the loop in.

    ``json`` decodes in C without ever letting another thread run; a hook written in
    Python is a point where it does, so a worker thread decoding a long body gives
    the event loop its turn every switch interval instead of holding it throughout.
    """
    return value


def retry_after_seconds(header: str | None) -> float | None:
    """Read a ``Retry-After`` header given in seconds; ``None`` when absent or unreadable."""
    try:
        return max(float(header), 0.0) if header else None
    except ValueError:
        return None


class _AnswerLostError(aiohttp.ClientError):
    """The request was written but the connection dropped before an answer came."""


async def refuse_resend(
    request: aiohttp.ClientRequest, handler: aiohttp.ClientHandlerType
) -> aiohttp.ClientResponse:
    """Stop aiohttp from silently re-sending an idempotent request.

    aiohttp re-sends a GET once when the connection drops before the answer. For a GET
    with side effects that re-send could apply the write twice, so the drop is turned
    into an error aiohttp does not retry. Connection failures are left alone: nothing
    was sent then.
    """
    try:
        return await handler(request)
    except aiohttp.ClientConnectorError:
        raise
    except (aiohttp.ClientOSError, aiohttp.ServerDisconnectedError) as err:
        raise _AnswerLostError(type(err).__name__) from None


def is_answer_lost(err: BaseException) -> bool:
    """Tell whether ``err`` means a sent request may have been applied.

    A connection that was never made (refused, or timed out while connecting) sent
    nothing.
    """
    if isinstance(err, aiohttp.ClientConnectorError | aiohttp.ConnectionTimeoutError):
        return False
    return isinstance(
        err,
        _AnswerLostError
        | aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | aiohttp.ClientOSError
        | TimeoutError,
    )


@dataclass(frozen=True, slots=True)
class Call:
    """One kind of request: its name in messages (never a secret) and if it writes."""

    name: str
    writes: bool


class Answer(NamedTuple):
    """A response as the clients read it: its status, its headers and its whole body."""

    status: int
    headers: CIMultiDictProxy[str]
    body: bytes


class ProviderClient:
    """The transport of one provider's client: an injected session, never closed here."""

    provider: ClassVar[str]
    # What a write whose answer is unknown may have done, in the provider's terms.
    lost_write: ClassVar[str] = "it may have been applied"
    # The longest provider text an error message quotes.
    message_limit: ClassVar[int] = 500

    def __init__(
        self,
        session: aiohttp.ClientSession,
        *,
        base_url: str,
        request_timeout: float,
    ) -> None:
        """Keep the session, the server and the timeout of every request."""
        self._session = session
        self._base_url = base_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)

    def _secrets(self) -> Iterable[str]:
        """Return every credential an answer must never echo into an error."""
        raise NotImplementedError

    async def _request(
        self, method: str, url: URL, call: Call, **options: Any
    ) -> Answer:
        """Send one request and return its answer, read whole."""
        if call.writes:
            options |= {"allow_redirects": False, "middlewares": (refuse_resend,)}
        try:
            async with self._session.request(
                method, url, timeout=self._timeout, **options
            ) as response:
                if 300 <= response.status < 400:
                    # Only a write ends here: a read follows redirects.
                    raise CannotConnectError(
                        f"{self.provider} redirected {call.name} "
                        f"(HTTP {response.status}); check the base URL"
                    )
                return Answer(response.status, response.headers, await response.read())
        except CoinHubError:
            raise
        except (aiohttp.ClientError, TimeoutError) as err:
            if call.writes and is_answer_lost(err):
                raise OutcomeUnknownError(
                    f"{self.provider} {call.name} was sent but its answer was lost "
                    f"({type(err).__name__}); {self.lost_write}"
                ) from None
            raise CannotConnectError(
                f"Cannot reach {self.provider} for {call.name} ({type(err).__name__})"
            ) from None

    def _unreadable(self, call: Call, status: int) -> CoinHubError:
        """Return the error of an answer that is not the provider's.

        A write that reached a server which then failed (or answered 2xx with
        garbage) may have been applied; a 4xx without a provider body (a wrong base
        URL, a proxy's refusal) was not.
        """
        if call.writes and not 400 <= status < 500:
            return OutcomeUnknownError(
                f"{self.provider} answered {call.name} with an unreadable body "
                f"(HTTP {status}); {self.lost_write}"
            )
        return CannotConnectError(
            f"{self.provider} answered {call.name} with an unreadable body "
            f"(HTTP {status})"
        )

    def _server_fault(
        self, call: Call, status: int, message: str | None = None
    ) -> CoinHubError:
        """Return the error of a 5xx answer: the server failed, whatever its body says.

        A server error is never the provider's verdict on the request: a read is
        simply unanswered, a write may have been applied before the server failed.
        """
        said = f": {message}" if message else ""
        if call.writes:
            return OutcomeUnknownError(
                f"{self.provider} failed on {call.name} (HTTP {status}){said}; "
                f"{self.lost_write}"
            )
        return CannotConnectError(
            f"{self.provider} failed on {call.name} (HTTP {status}){said}"
        )

    def _parsed[T](
        self, call: Call, parse: Callable[[Any], T], body: Mapping[str, Any] | Any
    ) -> T:
        """Parse a success; a write's unparsable success leaves its outcome unknown."""
        try:
            return parse(body)
        except CannotConnectError as err:
            if not call.writes:
                raise
            # The provider said "success": the write happened, but what it handed
            # out cannot be told.
            raise OutcomeUnknownError(
                f"{self.provider} applied {call.name} but its answer was incomplete: "
                f"{err}"
            ) from None

    def _scrubbed(self, text: object, *secrets: str | None) -> str:
        """Return provider text without the client's secrets, cut to a safe length."""
        if not isinstance(text, str) or not text:
            text = "unknown error"
        for secret in (*self._secrets(), *secrets):
            if secret:
                text = text.replace(secret, "***")
        return text[: self.message_limit]
