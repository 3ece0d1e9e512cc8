"""Transport helpers shared by the provider clients."""

from __future__ import annotations

from collections.abc import Callable, Iterable
import json
import re
from typing import Any
from urllib.parse import quote

import aiohttp

from .exceptions import InvalidInputError

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
) -> str:
    """Join already encoded segments to ``base_url``.

    The result is passed to aiohttp with ``yarl.URL(..., encoded=True)`` so nothing is
    normalised or decoded again.
    """
    url = base_url.rstrip("/") + "/" + "/".join(segments)
    return url + "/" if trailing_slash else url


def decode_json(raw: bytes, *, parse_float: Callable[[str], Any] = float) -> Any:
    """Parse a body as JSON whatever content type it came with; ``None`` if it is not."""
    try:
        return json.loads(
            raw.decode("utf-8", errors="replace"), parse_float=parse_float
        )
    except ValueError:
        return None


def decode_json_object(
    raw: bytes, *, parse_float: Callable[[str], Any] = float
) -> dict[str, Any] | None:
    """Parse a body that should be a JSON object; ``None`` if it is anything else."""
    body = decode_json(raw, parse_float=parse_float)
    return body if isinstance(body, dict) else None


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
    """Tell whether ``err`` means a sent request may have been applied."""
    return isinstance(
        err,
        _AnswerLostError
        | aiohttp.ServerDisconnectedError
        | aiohttp.ClientPayloadError
        | TimeoutError,
    ) or (
        isinstance(err, aiohttp.ClientOSError)
        and not isinstance(err, aiohttp.ClientConnectorError)
    )
