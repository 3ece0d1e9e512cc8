"""Coinetize answers parsed into models, the signature, and how refusals are classified.

The fixture bodies are the provider document's examples with realistic values filled in
(the document writes the path lists with single quotes, which is not JSON; the fixtures
use double quotes).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.coinhub.api.coinetize import (
    ARecord,
    LinkMethod,
    LinkResult,
    MessageResult,
    Paths,
    Review,
    sign,
)
from custom_components.coinhub.api.coinetize.client import (
    RefusalKind,
    Signer,
    classify_refusal,
    http_date_timestamp,
)
from custom_components.coinhub.api.exceptions import CannotConnectError
from sandbox import coinetize as sandbox_coinetize

FIXTURES = Path(__file__).parent / "fixtures" / "coinetize"


def fixture(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def test_link_result_from_document_example() -> None:
    assert LinkResult.from_api(fixture("link_website_success")) == LinkResult(
        subdomain="site-3f9a2c",
        verification_code="7e3f0c1d9b2a48e6a5c4d3b2a1f0e9d8",
        link_verification_filename="coinetize-1a2b3c4d",
    )


@pytest.mark.parametrize(
    "missing", ["subdomain", "verification_code", "link_verification_filename"]
)
def test_link_result_without_a_field_is_unreadable(missing: str) -> None:
    body = fixture("link_website_success")
    del body[missing]
    with pytest.raises(CannotConnectError, match=missing):
        LinkResult.from_api(body)


def test_link_result_with_a_non_text_field_is_unreadable() -> None:
    body = fixture("link_website_success") | {"subdomain": 42}
    with pytest.raises(CannotConnectError, match="subdomain"):
        LinkResult.from_api(body)


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("verify_website_success", "Subdomain site-3f9a2c successfully verified"),
        ("unlink_website_success", "Subdomain site-3f9a2c unlinked"),
    ],
)
def test_message_result_from_document_examples(name: str, message: str) -> None:
    assert MessageResult.from_api(fixture(name)) == MessageResult(message=message)


def test_message_result_without_message_is_unreadable() -> None:
    with pytest.raises(CannotConnectError, match="message"):
        MessageResult.from_api({"status": "success"})


def test_paths_from_document_examples() -> None:
    assert Paths.from_api(fixture("add_path_success")) == Paths(
        enabled_paths=("/sample-path",), deleted_paths=()
    )
    assert Paths.from_api(fixture("list_paths_success")) == Paths(
        enabled_paths=("/sample-path",), deleted_paths=("/old-path",)
    )


def test_paths_error_body_still_carries_the_paths() -> None:
    body = fixture("add_path_error")
    assert body["status"] == "error"
    assert Paths.from_api(body).enabled_paths == ("/sample-path",)


def test_absent_or_null_path_lists_are_empty() -> None:
    assert Paths.from_api({"status": "success"}) == Paths((), ())
    assert Paths.from_api({"enabled_paths": None, "deleted_paths": []}) == Paths((), ())


@pytest.mark.parametrize("bad", ["/sample-path", [1, 2], {"a": "/b"}])
def test_paths_of_the_wrong_type_are_unreadable(bad: object) -> None:
    with pytest.raises(CannotConnectError, match="enabled_paths"):
        Paths.from_api({"enabled_paths": bad})


def test_review_with_a_record() -> None:
    review = Review.from_api(fixture("review_success"))
    assert review.a_record == ARecord(
        ip_address="203.0.113.80", website="www.example.com"
    )
    assert review.htaccess_code is not None
    assert review.htaccess_code.startswith("Options +FollowSymLinks\nRewriteEngine On")


def test_review_without_a_record() -> None:
    review = Review.from_api(fixture("review_without_a_record"))
    assert review.a_record is None
    assert review.htaccess_code is not None
    assert "[R=302,L]" in review.htaccess_code


def test_review_with_empty_parts() -> None:
    assert Review.from_api({"a_record": None, "htaccess_code": ""}) == Review(
        None, None
    )


@pytest.mark.parametrize(
    "body",
    [
        {"a_record": "203.0.113.80"},
        {"a_record": {"ip_address": "203.0.113.80"}},
        {"htaccess_code": ["RewriteEngine On"]},
    ],
)
def test_malformed_review_is_unreadable(body: dict[str, Any]) -> None:
    with pytest.raises(CannotConnectError):
        Review.from_api(body)


def test_models_are_frozen() -> None:
    paths = Paths(("/a",), ())
    with pytest.raises(AttributeError):
        paths.enabled_paths = ()  # type: ignore[misc]


def test_link_method_values_are_the_documented_choices() -> None:
    assert [method.value for method in LinkMethod] == ["dns", "proxy", "redirect"]
    assert LinkMethod("proxy") is LinkMethod.PROXY


def test_signature_matches_an_independent_hmac() -> None:
    token, username, endpoint, timestamp = (
        "s3cr3t-token",
        "webmaster",
        "/link_website",
        1767225600,
    )
    expected = (
        hmac.new(
            token.encode(),
            b"webmaster/link_website1767225600",
            hashlib.sha256,
        )
        .hexdigest()
        .upper()
    )
    signature = sign(token, username, endpoint, timestamp)
    assert signature == expected
    assert len(signature) == 64
    assert signature == signature.upper()
    # Each part of the message and the key matter.
    assert sign(token, username, "/review", timestamp) != signature
    assert sign(token, username, endpoint, timestamp + 1) != signature
    assert sign("other", username, endpoint, timestamp) != signature


def test_a_signer_signs_call_after_call_as_documented() -> None:
    """The keyed signer gives each call the documented signature, and names no token."""
    signer = Signer("s3cr3t-token", "webmaster")
    for endpoint, timestamp in (("/list_paths", 1), ("/review", 2), ("/list_paths", 1)):
        assert signer(endpoint, timestamp) == sign(
            "s3cr3t-token", "webmaster", endpoint, timestamp
        )
    assert "s3cr3t" not in repr(signer)


@pytest.mark.parametrize(
    ("date", "timestamp"),
    [
        ("Tue, 01 Dec 2026 08:50:01 GMT", 1796115001.0),
        ("Sun, 06 Nov 1994 08:49:37 GMT", 784111777.0),
        # The obsolete forms a server may still send.
        ("Sunday, 06-Nov-94 08:49:37 GMT", 784111777.0),
        ("Sun Nov  6 08:49:37 1994", 784111777.0),
    ],
)
def test_http_dates_are_read(date: str, timestamp: float) -> None:
    """An HTTP date gives its unix time, whichever of its forms it takes."""
    assert http_date_timestamp(date) == timestamp


@pytest.mark.parametrize(
    "date",
    ["", "garbage", "Tue, 31 Feb 2026 08:50:01 GMT", "Tue, 01 Foo 2026 08:50:01 GMT"],
)
def test_unreadable_http_dates_are_refused(date: str) -> None:
    """A date that names no moment raises ``ValueError``."""
    with pytest.raises(ValueError, match="not an HTTP date"):
        http_date_timestamp(date)


@pytest.mark.parametrize(
    ("message", "kind"),
    [
        (sandbox_coinetize.MISSING_AUTH, RefusalKind.AUTHENTICATION),
        (sandbox_coinetize.UNKNOWN_USER, RefusalKind.AUTHENTICATION),
        (sandbox_coinetize.INVALID_TOKEN, RefusalKind.AUTHENTICATION),
        (sandbox_coinetize.INVALID_SIGNATURE, RefusalKind.AUTHENTICATION),
        ("Unauthorized", RefusalKind.AUTHENTICATION),
        (sandbox_coinetize.INVALID_TIMESTAMP, RefusalKind.TIMESTAMP),
        (sandbox_coinetize.TIMESTAMP_OUT_OF_RANGE, RefusalKind.TIMESTAMP),
        (sandbox_coinetize.RATE_LIMITED.format(12), RefusalKind.RATE_LIMIT),
        ("Too many requests", RefusalKind.RATE_LIMIT),
        (sandbox_coinetize.UNKNOWN_SUBDOMAIN.format("site-1"), RefusalKind.OTHER),
        (
            sandbox_coinetize.ALREADY_VERIFIED.format("site-1"),
            RefusalKind.ALREADY_VERIFIED,
        ),
        (sandbox_coinetize.CODE_NOT_FOUND.format("www.example.com"), RefusalKind.OTHER),
        (sandbox_coinetize.PATHS_NOT_SUPPORTED, RefusalKind.OTHER),
        (sandbox_coinetize.DNS_WEBSITE_REQUIRED, RefusalKind.OTHER),
        (sandbox_coinetize.MISSING_PARAMETER.format("website"), RefusalKind.OTHER),
    ],
)
def test_refusal_messages_are_classified(message: str, kind: RefusalKind) -> None:
    assert classify_refusal(message) is kind
