"""Every fault of the sandbox against every provider, through Home Assistant.

One test per fault and provider: the fault starts between two polls and lasts a few
rounds, then ends. Asserted each time, from Home Assistant's public surface only:

* the watched entity is unavailable while polls fail and available again afterwards,
  without a restart, and the integration logs one line when the trouble starts and one
  when it ends (the quality scale's log-when-unavailable);
* no reauthentication is started: none of these faults is a refused credential;
* the provider's ``Retry-After`` is honoured: no request reaches it before;
* what happened at the provider during the fault is announced once afterwards (a
  JSEcoin mining reward, a transfer) and a value-moving call is sent at most once;
* no log line carries a credential.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
import logging
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
import pytest
from pytest_homeassistant_custom_component.common import async_capture_events

from custom_components.coinhub.const import EVENT_TRANSACTION
from sandbox.faults import JSECOIN_GETBLOCK_LIMIT_BODY
from tests.components.conftest import call_action, setup_entry
from tests.components.sandbox_entries import BLOCK_SECONDS, BOB, JOHN
from tests.conftest import Sandbox

from .conftest import (
    ONE_ROUND,
    PROVIDERS,
    WATCHED,
    SandboxServer,
    assert_no_secret_logged,
    available,
    integration_lines,
    poll,
    provider_entry,
    reauth_flows,
    sandbox_secrets,
)
from .internals import pass_client_time, shorten_request_timeout

# Past the client's timeout, which the test shortens to keep the run quick.
SLOW_ANSWER_SECONDS = 2.0
SHORT_TIMEOUT_SECONDS = 1.0
RETRY_AFTER_SECONDS = 1200
GETBLOCK_WINDOW_SECONDS = 1800  # JSECOIN_GETBLOCK_LIMIT_BODY: "per 30 mins"
JSECOIN_WINDOW_SECONDS = 900  # what JSEcoin refuses for when it gives no Retry-After  # longer than a round of polls: the next round must wait


@dataclass(frozen=True)
class Fault:
    """A fault as the sandbox's admin API takes it, and what CoinHub should make of it."""

    name: str
    rule: dict[str, Any] = field(default_factory=dict)
    # Polls fail while it lasts (the watched entity turns unavailable).
    breaks_polls: bool = True
    # Providers for which the faulty answer is also a valid one (polls go on).
    valid_for: frozenset[str] = frozenset()
    # (provider -> reason) for the combinations that reveal a defect of CoinHub.
    defects: dict[str, str] = field(default_factory=dict)

    def breaks(self, provider: str) -> bool:
        """Tell whether polls of ``provider`` fail while the fault lasts."""
        return self.breaks_polls and provider not in self.valid_for


FAULTS = [
    Fault(
        "latency_beyond_timeout", {"kind": "latency", "seconds": SLOW_ANSWER_SECONDS}
    ),
    Fault("connection_dropped_before_answer", {"kind": "drop_before"}),
    Fault("connection_dropped_mid_body", {"kind": "truncated"}),
    Fault("http_500", {"kind": "status", "status": 500}),
    Fault("http_502", {"kind": "status", "status": 502}),
    Fault("http_503", {"kind": "status", "status": 503}),
    Fault("malformed_json", {"kind": "malformed"}),
    Fault("truncated_json", {"kind": "truncated_json"}),
    Fault("html_error_page", {"kind": "html", "status": 502}),
    Fault("empty_body", {"kind": "empty", "status": 200}),
    Fault("wrong_types", {"kind": "wrong_types"}),
    # Coinetize documents absent path lists as empty ones: a valid answer.
    Fault("missing_keys", {"kind": "missing_keys"}, valid_for=frozenset({"coinetize"})),
]
FAULT_ROUNDS = 3  # rounds of polls the fault lasts


def matrix(faults: list[Fault]) -> list[Any]:
    """Return the fault-by-provider parameters, defects marked strict xfail."""
    return [
        pytest.param(
            fault,
            provider,
            id=f"{fault.name}-{provider}",
            marks=[pytest.mark.xfail(strict=True, reason=fault.defects[provider])]
            if provider in fault.defects
            else [],
        )
        for fault in faults
        for provider in PROVIDERS
    ]


class Probe:
    """One provider's entry under a fault, and what happens at the provider meanwhile."""

    def __init__(
        self, hass: HomeAssistant, sandbox: Sandbox, provider: str, entry: Any
    ) -> None:
        """Watch ``entry`` of ``provider``."""
        self.hass = hass
        self.sandbox = sandbox
        self.provider = provider
        self.entry = entry
        self.entity_id = WATCHED[provider]
        self.events = async_capture_events(hass, EVENT_TRANSACTION)
        self.bob_before = Decimal(0)
        self.reported_sent = 0

    async def provider_moves(self) -> None:
        """Something happens at the provider while CoinHub cannot see it."""
        if self.provider == "jsecoin":
            self.bob_before = await self._bob_balance()
            await self.sandbox.admin(
                "POST", "/jsecoin/accounts/alice/mine", {"value": "0.5"}
            )

    async def move_value(self) -> None:
        """Send one value-moving call through CoinHub while the fault lasts."""
        if self.provider == "jsecoin":
            try:
                await call_action(
                    self.hass,
                    "transfer",
                    self.entry,
                    recipient=BOB["email"],
                    amount=1,
                    reference="during-fault",
                )
            except HomeAssistantError:
                return
            self.reported_sent += 1
        elif self.provider == "coinsoftworks":
            try:
                await call_action(
                    self.hass,
                    "execute_action",
                    self.entry,
                    action="Claim mining rewards",
                    wait=False,
                )
            except HomeAssistantError:
                return

    def value_moving_requests(self) -> int:
        """Count the value-moving requests the provider received."""
        if self.provider == "jsecoin":
            return self.sandbox.route_count("jsecoin", "/transfer/")
        if self.provider == "coinsoftworks":
            return self.sandbox.route_count(
                "coinsoftworks", "/actions/{api_key}/{action_id}", "POST"
            )
        return 0

    async def assert_nothing_lost_or_repeated(self) -> None:
        """Every move at the provider is announced once; a value moves at most once."""
        assert self.value_moving_requests() <= 1
        if self.provider != "jsecoin":
            return
        moved = await self._bob_balance() - self.bob_before
        assert moved in {Decimal(0), Decimal(1)}
        assert moved >= self.reported_sent
        announced = [(e.data["command"], e.data["value"]) for e in self.events]
        assert announced.count(("mining", 0.5)) == 1
        assert announced.count(("transfer", -1.0)) == int(moved)
        assert len(announced) == 1 + int(moved)

    async def _bob_balance(self) -> Decimal:
        account = await self.sandbox.admin("GET", "/jsecoin/accounts/bob")
        return Decimal(account["balance"])


async def start_probe(
    hass: HomeAssistant,
    sandbox: Sandbox,
    provider: str,
    caplog: pytest.LogCaptureFixture,
) -> Probe:
    """Load the provider's entry, check it is healthy, and start listening."""
    caplog.set_level(logging.DEBUG)
    entry = await setup_entry(hass, provider_entry(sandbox, provider))
    shorten_request_timeout(entry, SHORT_TIMEOUT_SECONDS)
    probe = Probe(hass, sandbox, provider, entry)
    assert available(hass, probe.entity_id)
    caplog.clear()
    return probe


def assert_healthy_end(
    hass: HomeAssistant,
    probe: Probe,
    caplog: pytest.LogCaptureFixture,
    *,
    lines: int,
) -> None:
    """Available again, no reauthentication, ``lines`` lines logged, no secret."""
    assert available(hass, probe.entity_id)
    assert probe.entry.state is ConfigEntryState.LOADED
    assert reauth_flows(hass) == []
    logged = integration_lines(caplog)
    assert len(logged) == lines, logged
    assert_no_secret_logged(caplog, sandbox_secrets())


@pytest.mark.parametrize(("fault", "provider"), matrix(FAULTS))
async def test_fault(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    fault: Fault,
    provider: str,
) -> None:
    """Unavailable while it lasts, one line in and one out, nothing lost or twice."""
    probe = await start_probe(hass, sandbox, provider, caplog)
    await probe.provider_moves()
    await sandbox.admin("POST", "/faults", {**fault.rule, "provider": provider})

    for _ in range(FAULT_ROUNDS):
        await poll(hass)
        assert available(hass, probe.entity_id) is not fault.breaks(provider)
    assert len(integration_lines(caplog)) == (1 if fault.breaks(provider) else 0)
    before_action = len(integration_lines(caplog))
    await probe.move_value()
    # What the action itself says (a lost transfer answer warns) is its own line.
    action_lines = len(integration_lines(caplog)) - before_action

    await sandbox.admin("DELETE", "/faults")
    sandbox.context.clock.advance(BLOCK_SECONDS)  # past the lock a transfer leaves
    await poll(hass)
    await poll(hass)  # the history may be read on the round after the balance moved
    assert_healthy_end(
        hass, probe, caplog, lines=(2 if fault.breaks(provider) else 0) + action_lines
    )
    await probe.assert_nothing_lost_or_repeated()


# Faults that need more than a rule.


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_connection_refused(
    hass: HomeAssistant,
    sandbox: Sandbox,
    sandbox_server: SandboxServer,
    caplog: pytest.LogCaptureFixture,
    provider: str,
) -> None:
    """A stopped server: unavailable, then back once it listens again."""
    probe = await start_probe(hass, sandbox, provider, caplog)
    await probe.provider_moves()
    await sandbox_server.stop()
    for _ in range(FAULT_ROUNDS):
        await poll(hass)
        assert not available(hass, probe.entity_id)
    assert len(integration_lines(caplog)) == 1
    before_action = len(integration_lines(caplog))
    await probe.move_value()
    action_lines = len(integration_lines(caplog)) - before_action
    assert probe.value_moving_requests() == 0  # nothing could be sent

    await sandbox_server.start()
    await poll(hass)
    await poll(hass)
    assert_healthy_end(hass, probe, caplog, lines=2 + action_lines)
    await probe.assert_nothing_lost_or_repeated()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_down_for_an_hour_then_back(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    provider: str,
) -> None:
    """Polls fail for an hour, the entry stays loaded, and recovers by itself."""
    probe = await start_probe(hass, sandbox, provider, caplog)
    await probe.provider_moves()
    until = sandbox.context.clock.now() + 3600
    await sandbox.admin(
        "POST", "/faults", {"kind": "drop_before", "provider": provider, "until": until}
    )
    rounds = 0
    while sandbox.context.clock.now() < until:
        await poll(hass)
        assert not available(hass, probe.entity_id)
        sandbox.context.clock.advance(ONE_ROUND.total_seconds())
        rounds += 1
    assert rounds == 6  # an hour of 11-minute rounds
    await poll(hass)
    await poll(hass)
    assert_healthy_end(hass, probe, caplog, lines=2)
    await probe.assert_nothing_lost_or_repeated()


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_with_retry_after(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    provider: str,
) -> None:
    """Nothing is sent before the provider's ``Retry-After``; polls resume after it."""
    probe = await start_probe(hass, sandbox, provider, caplog)
    await sandbox.admin(
        "POST",
        "/faults",
        {
            "kind": "status",
            "provider": provider,
            "status": 429,
            "retry_after": RETRY_AFTER_SECONDS,
            "count": 1,
        },
    )
    await poll(hass)
    assert not available(hass, probe.entity_id)
    refused_at = sandbox.request_count(provider)

    await poll(hass)  # a round later, still before Retry-After
    assert sandbox.request_count(provider) == refused_at
    if provider == "jsecoin":
        pass_client_time(probe.entry, RETRY_AFTER_SECONDS)
    await poll(hass, timedelta(seconds=RETRY_AFTER_SECONDS + 1))
    assert sandbox.request_count(provider) > refused_at
    assert_healthy_end(hass, probe, caplog, lines=2)


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_429_without_retry_after(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
    provider: str,
) -> None:
    """Without ``Retry-After`` CoinHub waits its own pause, then recovers."""
    probe = await start_probe(hass, sandbox, provider, caplog)
    await sandbox.admin(
        "POST",
        "/faults",
        {"kind": "status", "provider": provider, "status": 429, "count": 1},
    )
    await poll(hass)
    assert not available(hass, probe.entity_id)
    if provider == "jsecoin":
        # JSEcoin's window is 15 minutes: the key's budget holds for all of it.
        refused_at = sandbox.request_count(provider)
        await poll(hass)
        assert sandbox.request_count(provider) == refused_at
        pass_client_time(probe.entry, JSECOIN_WINDOW_SECONDS)
        # CoinHub told Home Assistant when its own pause ends.
        await poll(hass, timedelta(seconds=JSECOIN_WINDOW_SECONDS + 1))
    else:
        await poll(hass)
    assert_healthy_end(hass, probe, caplog, lines=2)


async def test_coinsoftworks_bearer_expires_between_two_polls(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A revoked bearer is replaced once, silently: no reauthentication, no outage."""
    probe = await start_probe(hass, sandbox, "coinsoftworks", caplog)
    settings = await sandbox.admin("GET", "/coinsoftworks/settings")
    # Past the provider's pause between two authentications, then the bearer expires.
    sandbox.context.clock.advance(settings["min_auth_interval"])
    expired = await sandbox.admin(
        "POST", f"/coinsoftworks/accounts/{JOHN['api_key']}/expire_tokens"
    )
    assert expired["expired"] == 1
    logins = sandbox.route_count("coinsoftworks", "/authentication/")
    await poll(hass)
    assert sandbox.route_count("coinsoftworks", "/authentication/") == logins + 1
    await poll(hass)
    assert sandbox.route_count("coinsoftworks", "/authentication/") == logins + 1
    assert_healthy_end(hass, probe, caplog, lines=0)


async def test_coinetize_clock_ten_minutes_ahead(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Coinetize's clock runs ten minutes ahead: signatures follow its clock."""
    probe = await start_probe(hass, sandbox, "coinetize", caplog)
    sandbox.context.clock.advance(600)
    await poll(hass)
    await poll(hass)
    assert_healthy_end(hass, probe, caplog, lines=0)


async def test_jsecoin_getblock_limit_is_a_rate_limit(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The getblock limit reads as a rate limit, and is waited out."""
    probe = await start_probe(hass, sandbox, "jsecoin", caplog)
    await sandbox.admin(
        "POST",
        "/faults",
        {
            "kind": "status",
            "provider": "jsecoin",
            "path": "/getblock/",
            "status": 400,
            "body": JSECOIN_GETBLOCK_LIMIT_BODY,
        },
    )
    for _ in range(2):
        with pytest.raises(HomeAssistantError) as err:
            await call_action(hass, "get_block", probe.entry, block=72318)
        assert not isinstance(err.value, ServiceValidationError)
        assert err.value.translation_key == "rate_limited"
    assert sandbox.route_count("jsecoin", "/getblock/") == 1
    await poll(hass)
    assert_healthy_end(hass, probe, caplog, lines=0)

    # Held for the provider's whole window, then sent again.
    await sandbox.admin("DELETE", "/faults")
    pass_client_time(probe.entry, GETBLOCK_WINDOW_SECONDS - 60)
    with pytest.raises(HomeAssistantError):
        await call_action(hass, "get_block", probe.entry, block=72318)
    assert sandbox.route_count("jsecoin", "/getblock/") == 1
    pass_client_time(probe.entry, 60)
    block = await call_action(hass, "get_block", probe.entry, block=72318)
    assert block["block_id"] == 72318
    assert sandbox.route_count("jsecoin", "/getblock/") == 2


async def test_coinsoftworks_bearer_runs_out_between_two_polls(
    hass: HomeAssistant,
    sandbox: Sandbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A bearer at the end of its life is renewed once, before it is refused."""
    probe = await start_probe(hass, sandbox, "coinsoftworks", caplog)
    settings = await sandbox.admin("GET", "/coinsoftworks/settings")
    logins = sandbox.route_count("coinsoftworks", "/authentication/")
    sandbox.context.clock.advance(settings["token_ttl"])
    await poll(hass)
    await poll(hass)
    assert sandbox.route_count("coinsoftworks", "/authentication/") == logins + 1
    assert_healthy_end(hass, probe, caplog, lines=0)
