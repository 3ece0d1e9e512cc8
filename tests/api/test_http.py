"""Transport helpers shared by the clients: URL segments, bodies, Retry-After."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import pytest

from custom_components.coinhub.api._http import (
    decode_json,
    decode_json_object,
    is_answer_lost,
    retry_after_seconds,
    safe_segment,
)
from custom_components.coinhub.api.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("header", "seconds"),
    [
        ("30", 30.0),
        ("12.5", 12.5),
        ("-3", 0.0),
        ("soon", None),
        ("Wed, 21 Oct 2026 07:28:00 GMT", None),
        ("", None),
        (None, None),
    ],
)
def test_retry_after_seconds(header: str | None, seconds: float | None) -> None:
    assert retry_after_seconds(header) == seconds


def test_bodies_are_json_whatever_their_content_type_says() -> None:
    assert decode_json(b"[1, 2]") == [1, 2]
    assert decode_json(b"<html>Bad gateway</html>") is None
    assert decode_json(b"\xff\xfe") is None
    assert decode_json_object(b'{"v": 0.1}', parse_float=Decimal) == {
        "v": Decimal("0.1")
    }
    assert decode_json_object(b'{"v": 0.1}') == {"v": 0.1}
    assert decode_json_object(b"[1, 2]") is None


@pytest.mark.parametrize(
    "value",
    [
        "",
        ".",
        "..",
        "a/b",
        "a\\b",
        "a?b",
        "a#b",
        "a%2Fb",
        "a b",
        "a\tb",
        "a\x00b",
        "a\x7fb",
    ],
)
def test_unsafe_segments_are_refused(value: str) -> None:
    with pytest.raises(InvalidInputError):
        safe_segment("lookup", value)


def test_safe_segments_are_percent_encoded() -> None:
    assert safe_segment("recipient", "bob+jse@example.com") == "bob%2Bjse%40example.com"


@pytest.mark.parametrize(
    ("error", "lost"),
    [
        (aiohttp.ServerDisconnectedError(), True),
        (aiohttp.ClientPayloadError("truncated"), True),
        (aiohttp.ClientOSError(104, "reset"), True),
        (aiohttp.SocketTimeoutError(), True),
        (TimeoutError(), True),
        # Nothing was sent: the connection was never made.
        (aiohttp.ConnectionTimeoutError(), False),
        (aiohttp.ClientConnectionError(), False),
    ],
)
def test_which_errors_mean_a_sent_request_may_have_applied(
    error: BaseException, lost: bool
) -> None:
    assert is_answer_lost(error) is lost
