"""Typed answers of the Coinetize API, parsed in one place.

Every ``from_api`` takes the decoded JSON body of a ``"status": "success"`` answer and
raises :class:`~custom_components.coinhub.api.exceptions.CannotConnectError` when the
body does not have the documented shape.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from .._parse import AnswerFields


class LinkMethod(StrEnum):
    """How Coinetize reaches a linked website."""

    DNS = "dns"
    PROXY = "proxy"
    REDIRECT = "redirect"


_fields = AnswerFields("Coinetize")


def _path_list(body: Mapping[str, Any], key: str) -> tuple[str, ...]:
    value = body.get(key, [])
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise _fields.unexpected(key)
    return tuple(value)


@dataclass(frozen=True, slots=True)
class LinkResult:
    """What ``/link_website`` hands out once; it identifies the website from now on."""

    subdomain: str
    verification_code: str
    link_verification_filename: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> LinkResult:
        """Parse a ``/link_website`` success."""
        return cls(
            subdomain=_fields.text(body, "subdomain"),
            verification_code=_fields.text(body, "verification_code"),
            link_verification_filename=_fields.text(body, "link_verification_filename"),
        )


@dataclass(frozen=True, slots=True)
class MessageResult:
    """The provider's confirmation of ``/verify_website`` or ``/unlink_website``."""

    message: str

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> MessageResult:
        """Parse a success that carries only a message."""
        return cls(message=_fields.text(body, "message"))


@dataclass(frozen=True, slots=True)
class Paths:
    """The enabled and the deleted paths of a proxy or redirect website."""

    enabled_paths: tuple[str, ...]
    deleted_paths: tuple[str, ...]

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Paths:
        """Parse the ``enabled_paths`` and ``deleted_paths`` lists (absent means empty)."""
        return cls(
            enabled_paths=_path_list(body, "enabled_paths"),
            deleted_paths=_path_list(body, "deleted_paths"),
        )


@dataclass(frozen=True, slots=True)
class ARecord:
    """The DNS A record a ``dns`` linked website must publish."""

    ip_address: str
    website: str

    @classmethod
    def from_api(cls, body: Any) -> ARecord:
        """Parse the ``a_record`` object of a review."""
        record = _fields.object(body, "a_record")
        return cls(
            ip_address=_fields.text(record, "ip_address"),
            website=_fields.text(record, "website"),
        )


@dataclass(frozen=True, slots=True)
class Review:
    """What the website owner has to configure: the A record (``dns``) and .htaccess code."""

    a_record: ARecord | None
    htaccess_code: str | None

    @classmethod
    def from_api(cls, body: Mapping[str, Any]) -> Review:
        """Parse a ``/review`` success; either part may be absent."""
        raw_record = body.get("a_record")
        return cls(
            a_record=None if not raw_record else ARecord.from_api(raw_record),
            htaccess_code=_fields.optional_text(body, "htaccess_code"),
        )
