"""JSEcoin models parsed from the provider document's own example bodies."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from decimal import Decimal
import json
from pathlib import Path
from typing import Any, cast

import aiohttp
import pytest

from custom_components.coinhub.api._http import decode_json_object
from custom_components.coinhub.api.exceptions import (
    AccessLevelError,
    AccountLockedError,
    AuthenticationError,
    CannotConnectError,
    ProviderRefusedError,
)
from custom_components.coinhub.api.jsecoin import (
    Balance,
    Block,
    ExportResult,
    History,
    HistoryEntry,
    ImportResult,
    JSEcoinClient,
    TransferResult,
)
from custom_components.coinhub.api.jsecoin.models import block_id_from_api

FIXTURES = Path(__file__).parent / "fixtures" / "jsecoin"


def load(name: str) -> dict[str, Any]:
    """Decode a fixture the way the client decodes bodies (exact decimals)."""
    body = decode_json_object(
        (FIXTURES / f"{name}.json").read_bytes(), parse_float=Decimal
    )
    assert body is not None
    return body


def test_balance_from_document() -> None:
    balance = Balance.from_api(load("balance_success"))
    assert balance == Balance(Decimal(99), "Your balance is 99 JSE")


def test_balance_sent_as_string_keeps_every_decimal() -> None:
    assert Balance.from_api(load("balance_string")).balance == Decimal("12.50000001")


def test_transfer_and_export_from_document() -> None:
    assert TransferResult.from_api(load("transfer_success")).notification == (
        "Transfer Has Been Confirmed"
    )
    export = ExportResult.from_api(load("export_success"))
    assert export.coin_code == "43iDFSdXsdf8fsSDEFC9jf93qfjAf'"
    assert export.notification == "Export Successful"
    assert "43iDF" not in repr(export)  # a coin code is cash


def test_import_value_is_a_string_in_the_document() -> None:
    assert ImportResult.from_api(load("import_success")).value == Decimal("0.003")


def test_current_block_id_is_a_string_in_the_document() -> None:
    assert block_id_from_api(load("currentblockid_success")) == 72318


def test_history_from_document_sorted_with_directions() -> None:
    history = History.from_api(load("history_document"))
    assert [entry.id for entry in history.entries] == [
        "-KwAMFQ7wY1H5rep7O99",
        "-KwAMN2B6yvjA6-k0fYO",
    ]
    imported, sent = history.entries
    assert imported.command == "import"
    assert imported.value == Decimal("0.5")
    assert imported.incoming
    assert imported.timestamp == datetime(2017, 10, 11, 12, 16, 6, 853000, tzinfo=UTC)
    assert imported.counterparty_email is None
    assert sent == HistoryEntry(
        id="-KwAMN2B6yvjA6-k0fYO",
        command="transfer",
        value=Decimal("-0.001"),
        timestamp=datetime.fromtimestamp(1507724197.530, tz=UTC),
        reference="testing",
        counterparty_email="charity@jsecoin.com",
        counterparty_public_key="045a0688dcaf1ca952b26895f3b885b398dd7318f71f306e4d519901c4c34f12486e46345b87f00de1e381729ecddc0ef9d05c0fd5d0a9d3d1b7b3ecb92df774be",
        user_id=123,
    )
    assert not sent.incoming
    assert history.account_user_id == 123


def test_history_never_keeps_the_coin_code() -> None:
    history = History.from_api(load("history_document"))
    code = "9cdf7e9ca01924331c6a097eeab71903731dbasdf8ede1af308fe79f3c84941"
    assert code not in repr(history)
    assert all(
        code not in str(value)
        for entry in history.entries
        for value in dataclasses.astuple(entry)
    )


def test_received_transfer_names_the_sender() -> None:
    body = load("history_document")
    entry = body["history"]["-KwAMN2B6yvjA6-k0fYO"]
    entry["value"] = Decimal("0.001")  # the receiver's copy of the same transfer
    received = HistoryEntry.from_api("-x", entry)
    assert received.counterparty_email == "user@myemail.com"
    assert received.counterparty_public_key == entry["publicKey"]
    assert received.user_id == 2895


def test_null_or_empty_history_is_empty() -> None:
    assert History.from_api(load("history_null")) == History((), None)
    assert History.from_api({"success": 1, "history": {}}) == History((), None)


def test_history_orders_equal_timestamps_by_id() -> None:
    body = {
        "history": {
            "b": {"command": "mining", "value": "1", "ts": "1000", "user1": 7},
            "a": {"command": "mining", "value": 2, "ts": 1000, "user1": 7},
            "c": {"command": "odd", "value": 3, "received": 10, "user1": 7},
        }
    }
    history = History.from_api(body)
    assert [entry.id for entry in history.entries] == ["c", "a", "b"]
    assert history.entries[0].command == "odd"  # unknown commands are kept


def test_history_entry_reads_command_and_value_from_its_data() -> None:
    data = json.dumps({"command": "transfer", "value": -0.25, "ts": 5000})
    entry = HistoryEntry.from_api("x", {"data": data, "user1": 1})
    assert (entry.command, entry.value) == ("transfer", Decimal("-0.25"))
    assert entry.timestamp == datetime.fromtimestamp(5, tz=UTC)


@pytest.mark.parametrize(
    "body",
    [
        {"history": []},
        {"history": {"x": "not an object"}},
        {"history": {"x": {"value": 1, "ts": 1}}},  # no command
        {"history": {"x": {"command": "mining", "value": "lots", "ts": 1}}},
        {"history": {"x": {"command": "mining", "value": True, "ts": 1}}},
        {"history": {"x": {"command": "mining", "value": "NaN", "ts": 1}}},
        {"history": {"x": {"command": "mining", "value": 1}}},  # no time at all
        {"history": {"x": {"command": "mining", "value": 1, "ts": 1.5}}},
        {"history": {"x": {"command": "mining", "value": 1, "ts": "1.5"}}},
        {"history": {"x": {"command": "mining", "value": 1, "ts": 10**20}}},
        {"history": {"x": {"command": "mining", "value": 1, "ts": 1, "user1": []}}},
        {"history": {"x": {"command": "mining", "data": "{oops", "ts": 1}}},
    ],
)
def test_malformed_history_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(CannotConnectError, match="JSEcoin answered without a valid"):
        History.from_api(body)


def test_block_from_document() -> None:
    block = Block.from_api(load("getblock_document"))
    assert block.block_id == 72138
    assert block.block_reference == 72
    assert (block.difficulty, block.frequency) == (5, 30000)
    assert block.previous_hash is not None
    assert block.previous_hash.startswith("00000068")
    assert block.main_chain is True
    assert block.open is False
    assert block.nonce == "1196562910"
    assert block.server == "jsecoin"
    assert block.version == "JSEcoin Controller v1.504"
    assert block.start_time == datetime.fromtimestamp(1508763420.006, tz=UTC)
    mining, transfer = block.inputs
    assert (mining.command, mining.value, mining.user1) == (
        "mining",
        Decimal("0.005"),
        1505,
    )
    assert mining.timestamp is None
    assert (transfer.user1, transfer.user2, transfer.value) == (
        0,
        25046,
        Decimal("0.12"),
    )
    as_dict = block.as_dict()
    assert json.loads(json.dumps(as_dict)) == as_dict  # JSON-ready
    assert as_dict["inputs"][1]["timestamp"] == "2017-10-23T12:57:11.737000+00:00"
    assert as_dict["start_time"] == "2017-10-23T12:57:00.006000+00:00"


def test_block_without_inputs_or_optional_fields() -> None:
    block = Block.from_api({"block": {"blockID": "7", "hash": "00ab"}})
    assert block.inputs == ()
    assert block.as_dict()["start_time"] is None
    assert block.nonce is None
    assert block.main_chain is None


@pytest.mark.parametrize(
    "body",
    [
        {"block": None},
        {"block": {"blockID": 7}},  # no hash
        {"block": {"blockID": 7.5, "hash": "00"}},
        {"block": {"blockID": 7, "hash": "00", "input": []}},
        {"block": {"blockID": 7, "hash": "00", "input": {"x": 1}}},
        {"block": {"blockID": 7, "hash": "00", "input": {"x": {"value": 1}}}},
    ],
)
def test_malformed_block_is_refused(body: dict[str, Any]) -> None:
    with pytest.raises(CannotConnectError):
        Block.from_api(body)


@pytest.mark.parametrize(
    ("parse", "body"),
    [
        (Balance.from_api, {"success": 1}),
        (ExportResult.from_api, {"success": 1, "coinCode": ""}),
        (ImportResult.from_api, {"success": 1, "value": None}),
        (block_id_from_api, {"success": 1, "blockID": "next"}),
    ],
)
def test_missing_fields_are_refused(parse: Any, body: dict[str, Any]) -> None:
    with pytest.raises(CannotConnectError):
        parse(body)


def test_notifications_other_than_text_are_empty() -> None:
    assert TransferResult.from_api({"success": 1, "notification": 3}).notification == ""


@pytest.mark.parametrize(
    ("fixture", "status", "error", "extra"),
    [
        ("fail_read_access", 400, AccessLevelError, {"required_level": 1}),
        ("fail_key_not_recognized", 200, AuthenticationError, {}),
        ("fail_signature", 200, ProviderRefusedError, {}),
        ("fail_coin_code_used", 200, ProviderRefusedError, {}),
        ("fail_locked", 200, AccountLockedError, {"retry_after": 20.0}),
    ],
)
def test_document_failures_are_classified(
    fixture: str, status: int, error: type[Exception], extra: dict[str, Any]
) -> None:
    client = JSEcoinClient(cast("aiohttp.ClientSession", None), "document-key")
    refusal = client._refusal(load(fixture), status, None)
    assert type(refusal) is error
    for name, value in extra.items():
        assert getattr(refusal, name) == value
    assert load(fixture)["notification"] in str(refusal)


def test_failure_classification_details() -> None:
    client = JSEcoinClient(cast("aiohttp.ClientSession", None), "document-key")
    write = client._refusal(
        {"fail": 1, "notification": "API key does not have write access"}, 400, None
    )
    assert isinstance(write, AccessLevelError)
    assert write.required_level == 2
    unexplained = client._refusal({"fail": 1}, 401, None)
    assert isinstance(unexplained, AuthenticationError)
    assert "unknown error" in str(unexplained)
    no_delay = client._refusal(
        {"fail": 1, "notification": "Account locked pending recent transaction"},
        200,
        None,
    )
    assert isinstance(no_delay, AccountLockedError)
    assert no_delay.retry_after == 20
    echo = client._refusal(
        {"fail": 1, "notification": "bad key document-key for code c0de"}, 200, "c0de"
    )
    assert str(echo) == "bad key *** for code ***"


def test_bodies_are_json_whatever_they_claim() -> None:
    assert decode_json_object(
        b'{"success": 1, "balance": 0.1}', parse_float=Decimal
    ) == {
        "success": 1,
        "balance": Decimal("0.1"),
    }
    assert decode_json_object(b"<html>Bad gateway</html>") is None
    assert decode_json_object(b"[1, 2]") is None
    assert decode_json_object(b"\xff\xfe") is None


def test_history_recognises_an_imported_coin_code_without_holding_it() -> None:
    body = load("history_document")
    code = next(
        entry["coinCode"]
        for entry in body["history"].values()
        if entry.get("command") == "import"
    )
    history = History.from_api(body)
    imported = next(entry for entry in history.entries if entry.command == "import")

    assert imported.imports_coin_code(code)
    assert not imported.imports_coin_code(code + "0")
    assert not any(
        entry.imports_coin_code(code)
        for entry in history.entries
        if entry is not imported
    )
    for text in (repr(history), repr(imported), str(dataclasses.asdict(imported))):
        assert code not in text
