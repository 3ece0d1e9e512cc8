"""The demo stops on Ctrl+C and starts again on the same folder with what it had."""

from __future__ import annotations

from pathlib import Path
import time

from .conftest import DemoProcess

TITLES = {"JSEcoin", "Coinetize webmaster", "coinsoftworks JohnCB5496"}


def test_ctrl_c_stops_both_and_a_restart_keeps_the_accounts(tmp_path: Path) -> None:
    demo_process = DemoProcess(tmp_path)
    first = demo_process.start()
    assert "onboarded the demo user" in "".join(first.output)
    assert {entry["title"] for entry in first.entries()} == TITLES
    demo_process.stop()

    again = demo_process.start()
    try:
        log = "".join(again.output)
        # Logged in with the demo user; no second account of any provider.
        assert "onboarded" not in log
        assert "added" not in log
        assert {entry["title"] for entry in again.entries()} == TITLES
        # The sandbox starts from its seed again, which keeps the linked website.
        verified = "binary_sensor.blog_example_com_verified"
        deadline = time.monotonic() + 30
        while again.state(verified)["state"] != "on":
            assert time.monotonic() < deadline, again.state(verified)
            time.sleep(1)
        assert again.state("sensor.coinsoftworks_johncb5496_last_action_status")[
            "state"
        ] in {"queued", "running", "completed"}
    finally:
        demo_process.stop()
