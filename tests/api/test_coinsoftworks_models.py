"""coinsoftworks answers parsed into models.

The fixture bodies are the provider document's examples made into JSON: the document
writes some values unquoted (``"username": JohnCB5496``, ``"action_name": Send BTC``),
leaves trailing commas and a ``jsonObject`` placeholder, and disagrees with itself on
types (``"enterprise_mode": "true"`` against a boolean schema, ``"action_id": "33"``
against an int32 schema). The execute and execution bodies follow the assumed shape.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
import json
from pathlib import Path
from typing import Any

import pytest

from custom_components.coinhub.api.coinsoftworks import (
    Action,
    BearerToken,
    Execution,
    ExecutionStatus,
    Settings,
    User,
)
from custom_components.coinhub.api.exceptions import CannotConnectError

FIXTURES = Path(__file__).parent / "fixtures" / "coinsoftworks"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_bearer_token_from_document_example() -> None:
    token = BearerToken.from_api(fixture("authentication"))

    assert token.token == "eyxCbGciOiJIUzI1Nis...5xywLoYVqTcXDexbC8"
    assert token.expiration == datetime(2012, 5, 1, 15, 20, 22, tzinfo=UTC)
    assert token.ticks == 636607848220000000
    assert "eyx" not in repr(token)


@pytest.mark.parametrize(
    ("expiration", "expected"),
    [
        ("2030-01-02T03:04:05Z", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2030-01-02T03:04:05.250Z", datetime(2030, 1, 2, 3, 4, 5, 250000, tzinfo=UTC)),
        ("2030-01-02T03:04:05", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
        ("2030-01-02T05:04:05+02:00", datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)),
    ],
)
def test_bearer_expiration_is_aware_utc(expiration: str, expected: datetime) -> None:
    token = BearerToken.from_api({"bearer_token": "b", "expiration": expiration})

    assert token.expiration == expected
    assert token.expiration.utcoffset() == timedelta(0)
    assert token.ticks is None


@pytest.mark.parametrize(
    ("ticks", "expected"),
    [("636607848220000000", 636607848220000000), (True, None), ("soon", None)],
)
def test_bearer_ticks_are_optional(ticks: Any, expected: int | None) -> None:
    body = {"bearer_token": "b", "expiration": "2030-01-01T00:00:00Z", "ticks": ticks}

    assert BearerToken.from_api(body).ticks == expected


@pytest.mark.parametrize(
    "body",
    [
        [],
        {"expiration": "2030-01-01T00:00:00Z"},
        {"bearer_token": None, "expiration": "2030-01-01T00:00:00Z"},
        {"bearer_token": "", "expiration": "2030-01-01T00:00:00Z"},
        {"bearer_token": " padded ", "expiration": "2030-01-01T00:00:00Z"},
        {"bearer_token": "b"},
        {"bearer_token": "b", "expiration": "tomorrow"},
        {"bearer_token": "b", "expiration": 1893456000},
    ],
)
def test_bearer_without_token_or_time_is_unreadable(body: Any) -> None:
    with pytest.raises(CannotConnectError):
        BearerToken.from_api(body)


def test_user_from_document_example() -> None:
    assert User.from_api(fixture("user")) == User("JohnCB5496", "Ultimate")


def test_user_with_numeric_username_is_text() -> None:
    assert User.from_api({"username": 5496, "purchased_plan": " Pro "}) == User(
        "5496", "Pro"
    )


@pytest.mark.parametrize(
    "body",
    [
        None,
        {"purchased_plan": "Ultimate"},
        {"username": "", "purchased_plan": "Ultimate"},
        {"username": True, "purchased_plan": "Ultimate"},
        {"username": "JohnCB5496"},
        {"username": "JohnCB5496", "purchased_plan": 3},
    ],
)
def test_user_without_name_or_plan_is_unreadable(body: Any) -> None:
    with pytest.raises(CannotConnectError):
        User.from_api(body)


def test_settings_from_document_example_with_text_flag() -> None:
    settings = Settings.from_api(fixture("settings"))

    assert settings.enterprise_mode is True
    assert settings.settings_list == {"language": "en", "timezone": "UTC"}


@pytest.mark.parametrize(
    ("flag", "expected"),
    [
        (True, True),
        (False, False),
        ("true", True),
        ("false", False),
        (" TRUE ", True),
        ("False", False),
        (1, True),
        (0, False),
    ],
)
def test_settings_enterprise_mode_shapes(flag: Any, expected: bool) -> None:
    assert Settings.from_api({"enterprise_mode": flag}).enterprise_mode is expected


@pytest.mark.parametrize("flag", [None, "maybe", 2, 1.0, []])
def test_settings_with_unclear_enterprise_mode_is_unreadable(flag: Any) -> None:
    with pytest.raises(CannotConnectError, match="enterprise_mode"):
        Settings.from_api({"enterprise_mode": flag, "settings_list": {}})


def test_settings_list_absent_or_null_is_empty() -> None:
    assert Settings.from_api({"enterprise_mode": False}).settings_list == {}
    assert Settings.from_api(
        {"enterprise_mode": "false", "settings_list": None}
    ) == Settings(enterprise_mode=False, settings_list={})


@pytest.mark.parametrize(
    "body", ["settings", {"enterprise_mode": True, "settings_list": [1]}]
)
def test_settings_of_the_wrong_shape_are_unreadable(body: Any) -> None:
    with pytest.raises(CannotConnectError):
        Settings.from_api(body)


def test_actions_from_document_example_keep_ids_as_text() -> None:
    send, claim, restart = Action.many_from_api(fixture("actions"))

    assert send == Action(
        action_id="33",
        action_name="Send BTC",
        action_type="eWallet Action",
        action_status="Enabled",
        parameters=("recipient", "amount"),
    )
    assert claim.action_id == "12"
    assert restart.action_id == "41"
    assert (send.enabled, claim.enabled, restart.enabled) == (True, True, False)
    assert (send.takes_parameters, claim.takes_parameters) == (True, False)


def test_action_status_is_case_insensitive() -> None:
    body = {
        "action_id": 1,
        "action_name": "n",
        "action_type": "t",
        "action_status": "ENABLED ",
    }
    assert Action.from_api(body).enabled


def test_actions_may_come_wrapped_or_empty() -> None:
    wrapped = {"actions": fixture("actions")}

    assert len(Action.many_from_api(wrapped)) == 3
    assert Action.many_from_api([]) == ()
    assert Action.many_from_api(None) == ()
    assert Action.many_from_api({"actions": None}) == ()


def test_action_parameters_may_be_objects_with_names() -> None:
    body = {
        "action_id": "7",
        "action_name": "Swap",
        "action_type": "eWallet Action",
        "action_status": "Enabled",
        "parameters": [{"name": "pair", "required": True}, " amount "],
    }
    assert Action.from_api(body).parameters == ("pair", "amount")


@pytest.mark.parametrize(
    "body",
    [
        {"actions": "none"},
        {"action_name": "Send BTC"},
        [
            {
                "action_id": True,
                "action_name": "n",
                "action_type": "t",
                "action_status": "s",
            }
        ],
        [
            {
                "action_id": 1.5,
                "action_name": "n",
                "action_type": "t",
                "action_status": "s",
            }
        ],
        [{"action_id": 1, "action_name": "", "action_type": "t", "action_status": "s"}],
        [{"action_id": 1, "action_name": "n", "action_type": "t"}],
        [
            {
                "action_id": 1,
                "action_name": "n",
                "action_type": "t",
                "action_status": "s",
                "parameters": "amount",
            }
        ],
        [
            {
                "action_id": 1,
                "action_name": "n",
                "action_type": "t",
                "action_status": "s",
                "parameters": [{"label": "amount"}],
            }
        ],
        ["Send BTC"],
    ],
)
def test_actions_of_the_wrong_shape_are_unreadable(body: Any) -> None:
    with pytest.raises(CannotConnectError):
        Action.many_from_api(body)


def test_execute_answer_takes_the_requested_action() -> None:
    execution = Execution.from_api(fixture("execute"), action_id="12")

    assert execution == Execution(
        execution_id="exe-5a3c0e9b12f4",
        action_id="12",
        status=ExecutionStatus.QUEUED,
        result=None,
        message=None,
    )
    assert not execution.finished


def test_completed_execution_keeps_its_result() -> None:
    execution = Execution.from_api(fixture("execution_completed"), action_id="99")

    assert execution.action_id == "12"  # the answer's own action wins
    assert execution.status is ExecutionStatus.COMPLETED
    assert execution.result == {"tx": "0x9f2c4b7d1e6a8c3f5b0d2e4a6c8f1b3d"}
    assert execution.message is None
    assert execution.finished


def test_failed_execution_keeps_its_message() -> None:
    execution = Execution.from_api(fixture("execution_failed"))

    assert execution.action_id == "17"
    assert execution.status is ExecutionStatus.FAILED
    assert execution.message == "Insufficient liquidity for the swap"
    assert execution.finished


def test_execution_status_is_case_insensitive_and_empty_message_is_none() -> None:
    execution = Execution.from_api(
        {"execution_id": 5, "status": " Running ", "message": ""}
    )

    assert execution == Execution("5", None, ExecutionStatus.RUNNING, None, None)


def test_only_completed_and_failed_are_finished() -> None:
    assert [status for status in ExecutionStatus if status.finished] == [
        ExecutionStatus.COMPLETED,
        ExecutionStatus.FAILED,
    ]


@pytest.mark.parametrize(
    "body",
    [
        "queued",
        {"status": "queued"},
        {"execution_id": "e1"},
        {"execution_id": "e1", "status": "paused"},
        {"execution_id": "e1", "status": 3},
        {"execution_id": "e1", "status": "queued", "action_id": False},
    ],
)
def test_executions_of_the_wrong_shape_are_unreadable(body: Any) -> None:
    with pytest.raises(CannotConnectError):
        Execution.from_api(body)


def test_expiration_with_a_zone_is_converted() -> None:
    eastern = timezone(timedelta(hours=-5))
    token = BearerToken.from_api(
        {"bearer_token": "b", "expiration": "2030-01-01T19:00:00-05:00"}
    )
    assert token.expiration == datetime(2030, 1, 1, 19, tzinfo=eastern)
    assert token.expiration.tzinfo is UTC


@pytest.mark.parametrize(
    ("action_type", "wallet"),
    [
        ("eWallet Action", True),
        ("ewallet action", True),
        ("Cold WALLET sweep", True),
        ("eMining Action", False),
        (" emining   ACTION ", False),
        ("eBridge Action", True),  # never seen: guarded
        ("", True),
        (None, True),
        (42, True),
    ],
)
def test_wallet_actions_are_named_by_their_type_or_unknown(
    action_type: Any, wallet: bool
) -> None:
    body = {"action_id": 1, "action_name": "n", "action_status": "Enabled"}
    if action_type is not None:
        body["action_type"] = action_type

    action = Action.from_api(body)

    assert action.wallet is wallet
    if not isinstance(action_type, str) or not action_type.strip():
        assert action.action_type is None
