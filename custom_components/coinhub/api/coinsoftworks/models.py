"""Typed answers of the coinsoftworks API, parsed in one place.

Every ``from_api`` takes the decoded JSON body of a success answer and raises
:class:`~custom_components.coinhub.api.exceptions.CannotConnectError` when the body does
not have the expected shape. The provider document is loose, so the parsers are
tolerant where its examples disagree with its schema: ``enterprise_mode`` comes as a
boolean or as ``"true"``/``"false"``, ``action_id`` as a number or a string (kept as a
string), and the actions answer as a bare list. An action's ``action_type`` may be
missing or one never seen: the action is then read all the same, as a wallet action.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from .._parse import AnswerFields

ENABLED_STATUS = "enabled"
# The action types the document shows that move nothing out of a wallet ("eMining
# action"). Any other type, or none, may move value: it is a wallet action.
NON_WALLET_ACTION_TYPES = frozenset({"emining action"})

_TRUE_TEXT = frozenset({"true", "1", "yes", "on"})
_FALSE_TEXT = frozenset({"false", "0", "no", "off"})


_fields = AnswerFields("coinsoftworks")


def _identifier(value: Any, what: str) -> str:
    """Read an id sent as a JSON number (``33``) or a string (``"33"``)."""
    if isinstance(value, bool):
        raise _fields.unexpected(what)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise _fields.unexpected(what)


def _flag(value: Any, what: str) -> bool:
    """Read a boolean sent as JSON ``true`` or as text (``"true"``, ``"false"``)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in {0, 1}:
        return bool(value)
    if isinstance(value, str):
        text = value.strip().casefold()
        if text in _TRUE_TEXT:
            return True
        if text in _FALSE_TEXT:
            return False
    raise _fields.unexpected(what)


def _optional_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


@dataclass(frozen=True, slots=True)
class BearerToken:
    """A bearer token from ``/authentication``, valid until ``expiration``."""

    token: str = field(repr=False)
    expiration: datetime
    ticks: int | None = None

    @classmethod
    def from_api(cls, body: Any) -> BearerToken:
        """Parse an ``/authentication`` success."""
        answer = _fields.object(body, "authentication answer")
        token = answer.get("bearer_token")
        if not isinstance(token, str) or not token or token != token.strip():
            raise _fields.unexpected("bearer_token")
        return cls(
            token=token,
            expiration=_fields.iso_time(answer.get("expiration"), "expiration"),
            ticks=_optional_int(answer.get("ticks")),
        )


@dataclass(frozen=True, slots=True)
class User:
    """The account behind the API key."""

    username: str
    purchased_plan: str

    @classmethod
    def from_api(cls, body: Any) -> User:
        """Parse a ``/user`` answer."""
        answer = _fields.object(body, "user")
        plan = answer.get("purchased_plan")
        if not isinstance(plan, str):
            raise _fields.unexpected("purchased_plan")
        return cls(
            username=_identifier(answer.get("username"), "username"),
            purchased_plan=plan.strip(),
        )


@dataclass(frozen=True, slots=True)
class Settings:
    """The account's settings: whether enterprise mode is on, and the rest as sent."""

    enterprise_mode: bool
    settings_list: dict[str, Any]

    @classmethod
    def from_api(cls, body: Any) -> Settings:
        """Parse a ``/settings`` answer; a missing or null ``settings_list`` is empty."""
        answer = _fields.object(body, "settings")
        settings_list = answer.get("settings_list")
        if settings_list is None:
            settings_list = {}
        if not isinstance(settings_list, Mapping):
            raise _fields.unexpected("settings_list")
        return cls(
            enterprise_mode=_flag(answer.get("enterprise_mode"), "enterprise_mode"),
            settings_list=dict(settings_list),
        )


@dataclass(frozen=True, slots=True)
class Action:
    """An automation the account can execute."""

    action_id: str
    action_name: str
    action_type: str | None
    action_status: str
    parameters: tuple[str, ...] = ()
    wallet: bool = field(init=False)
    """Whether the action may move value out of a wallet (see :func:`is_wallet_type`)."""

    def __post_init__(self) -> None:
        """Classify the action by its type once."""
        object.__setattr__(self, "wallet", is_wallet_type(self.action_type))

    @property
    def enabled(self) -> bool:
        """Whether the provider lets the action run (status ``Enabled``)."""
        return self.action_status.strip().casefold() == ENABLED_STATUS

    @property
    def takes_parameters(self) -> bool:
        """Whether the action needs parameters to run."""
        return bool(self.parameters)

    @classmethod
    def from_api(cls, body: Any) -> Action:
        """Parse one action object of the ``/actions`` answer.

        A missing, blank or non-text ``action_type`` is kept as ``None``: it says
        nothing about the action, which is then guarded as a wallet action.
        """
        answer = _fields.object(body, "action")
        action_type = answer.get("action_type")
        return cls(
            action_id=_identifier(answer.get("action_id"), "action_id"),
            action_name=_fields.text(answer, "action_name", strip=True),
            action_type=action_type.strip()
            if isinstance(action_type, str) and action_type.strip()
            else None,
            action_status=_fields.text(answer, "action_status", strip=True),
            parameters=_parameter_names(answer.get("parameters")),
        )

    @classmethod
    def many_from_api(cls, body: Any) -> tuple[Action, ...]:
        """Parse the ``/actions`` answer: a list, or an object holding ``actions``."""
        if isinstance(body, Mapping) and "actions" in body:
            body = body["actions"]
        if body is None:
            return ()
        if not isinstance(body, list):
            raise _fields.unexpected("list of actions")
        return tuple(cls.from_api(item) for item in body)


def is_wallet_type(action_type: str | None) -> bool:
    """Tell whether an action of ``action_type`` is a wallet action.

    One is when its type names a wallet (the document's ``"eWallet Action"``), and also
    when the type is missing or not one the document shows: unknown means guarded.
    """
    if action_type is None:
        return True
    normalized = " ".join(action_type.casefold().split())
    return "wallet" in normalized or normalized not in NON_WALLET_ACTION_TYPES


class ExecutionStatus(StrEnum):
    """Where an execution of an action stands."""

    QUEUED = "queued"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"

    @property
    def finished(self) -> bool:
        """Whether the execution has ended, successfully or not."""
        return self in {ExecutionStatus.COMPLETED, ExecutionStatus.FAILED}


@dataclass(frozen=True, slots=True)
class Execution:
    """One execution of an action, as last reported by the provider."""

    execution_id: str
    action_id: str | None
    status: ExecutionStatus
    result: Any = None
    message: str | None = None

    @property
    def finished(self) -> bool:
        """Whether the execution has ended."""
        return self.status.finished

    @classmethod
    def from_api(cls, body: Any, *, action_id: str | None = None) -> Execution:
        """Parse an execute or monitor answer.

        ``action_id`` fills in the action when the answer does not name it (the
        execute answer carries only the execution id and its status).
        """
        answer = _fields.object(body, "execution")
        raw_action = answer.get("action_id")
        message = answer.get("message")
        return cls(
            execution_id=_identifier(answer.get("execution_id"), "execution_id"),
            action_id=action_id
            if raw_action is None
            else _identifier(raw_action, "action_id"),
            status=_execution_status(answer.get("status")),
            result=answer.get("result"),
            message=message if isinstance(message, str) and message else None,
        )


# --- ASSUMPTION --------------------------------------------------------------------
# The public document does not describe how actions take parameters nor how executions
# are reported. We assume an action object may carry "parameters": a list of parameter
# names (absent or empty: the action takes none), and an execution answer shaped like
# {"execution_id", "action_id", "status": queued|running|completed|failed, "result",
# "message"}. The endpoints live in client.py, marked the same way.


def _parameter_names(value: Any) -> tuple[str, ...]:
    """Read the assumed ``parameters`` list: names, or objects with a ``name``."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise _fields.unexpected("parameters")
    names: list[str] = []
    for item in value:
        name = item.get("name") if isinstance(item, Mapping) else item
        if not isinstance(name, str) or not name.strip():
            raise _fields.unexpected("parameters")
        names.append(name.strip())
    return tuple(names)


def _execution_status(value: Any) -> ExecutionStatus:
    if not isinstance(value, str):
        raise _fields.unexpected("status")
    try:
        return ExecutionStatus(value.strip().casefold())
    except ValueError:
        raise _fields.unexpected("status") from None


# --- end of ASSUMPTION ---------------------------------------------------------------
