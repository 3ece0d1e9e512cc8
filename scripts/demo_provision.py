"""Bring the demo's Home Assistant to a state worth looking at, as a user would.

Run by ``scripts/demo`` once Home Assistant is starting. Over Home Assistant's HTTP and
websocket APIs it finishes onboarding with the demo user, adds one CoinHub entry per
provider through the config flow (Advanced settings pointing at the sandbox), picks the
JSEcoin lookups in the options flow, links and verifies a Coinetize website, exposes the
balances to Assist and starts a coinsoftworks action. Every step is skipped when already
done, so a restart on the same folder only logs in and starts the action again.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
from pathlib import Path
import time
from typing import Any

import aiohttp
from yarl import URL

DEMO_NAME = "Demo"
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "coinhub-demo"  # documented: the demo listens on loopback only
DOMAIN = "coinhub"
# The coinsoftworks action the demo starts: a mining action, not a wallet one.
DEMO_ACTION = "Claim mining rewards"
DEMO_THEME = "CoinHub"  # defined in demo/configuration.yaml
# Home Assistant reloads an entry this long after one of its entities is turned on
# (config_entries.RELOAD_AFTER_UPDATE_DELAY); the margin lets that reload begin.
RELOAD_AFTER_UPDATE_DELAY = 30.0
RELOAD_MARGIN = 3.0
# The website the demo links through CoinHub, verifies and gives a path.
DEMO_WEBSITE = "blog.example.com"
DEMO_PATH = "/articles"
# The sandbox the demo runs serves its default seeds: the demo's accounts come from there.
SEEDS_DIR = Path(__file__).resolve().parents[1] / "sandbox" / "seeds"
PREFIXES = {
    "jsecoin": "/jsecoin/server/api",
    "coinetize": "/coinetize",
    "coinsoftworks": "/coinsoftworks/_functions",
}


class HomeAssistant:
    """The few calls the demo makes to Home Assistant, as the demo user."""

    def __init__(self, session: aiohttp.ClientSession, url: URL) -> None:
        """Talk to the Home Assistant at ``url``."""
        self.session = session
        self.url = url
        self.client_id = str(url.with_path("/"))
        self.token = ""
        self._ws_id = itertools.count(1)

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one request and return its JSON answer; fail on an error status."""
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.session.request(
            method, self.url.with_path(path), json=body, headers=headers
        ) as response:
            if response.status >= 400:
                raise RuntimeError(
                    f"{method} {path}: {response.status} {await response.text()}"
                )
            return await response.json()

    async def wait_until_up(self) -> None:
        """Wait for the frontend, which comes after onboarding's API."""
        while True:
            try:
                await self.call("GET", "/manifest.json")
            except aiohttp.ClientError, RuntimeError:
                await asyncio.sleep(0.5)
            else:
                return

    async def onboard_or_log_in(self) -> bool:
        """Finish onboarding with the demo user, or log in; True when onboarded now."""
        steps = await self._onboarding_steps()
        onboarding = not steps.get("user", True)
        if onboarding:
            answer = await self.call(
                "POST",
                "/api/onboarding/users",
                {
                    "name": DEMO_NAME,
                    "username": DEMO_USERNAME,
                    "password": DEMO_PASSWORD,
                    "client_id": self.client_id,
                    "language": "en",
                },
            )
            code = answer["auth_code"]
        else:
            code = await self._log_in()
        tokens = await self._form(
            "/auth/token",
            {
                "grant_type": "authorization_code",
                "code": code,
                "client_id": self.client_id,
            },
        )
        self.token = tokens["access_token"]
        if not steps.get("analytics", True):
            await self.call("POST", "/api/onboarding/analytics")
        if not steps.get("integration", True):
            await self.call(
                "POST",
                "/api/onboarding/integration",
                {"client_id": self.client_id, "redirect_uri": self.client_id},
            )
        return onboarding

    async def _onboarding_steps(self) -> dict[str, bool]:
        """Return which onboarding steps are done; all of them once onboarded."""
        async with self.session.get(self.url.with_path("/api/onboarding")) as response:
            if response.status == 404:  # onboarded: the onboarding API is gone
                return {}
            response.raise_for_status()
            return {step["step"]: step["done"] for step in await response.json()}

    async def _log_in(self) -> str:
        flow = await self.call(
            "POST",
            "/auth/login_flow",
            {
                "client_id": self.client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": self.client_id,
            },
        )
        result = await self.call(
            "POST",
            f"/auth/login_flow/{flow['flow_id']}",
            {
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "client_id": self.client_id,
            },
        )
        if result.get("type") != "create_entry":
            raise RuntimeError(f"the demo login was refused: {result.get('errors')}")
        code: str = result["result"]
        return code

    async def _form(self, path: str, data: dict[str, str]) -> Any:
        async with self.session.post(self.url.with_path(path), data=data) as response:
            response.raise_for_status()
            return await response.json()

    async def websocket(self, *messages: dict[str, Any]) -> list[Any]:
        """Send websocket commands in order; return their results."""
        results = []
        async with self.session.ws_connect(self.url.with_path("/api/websocket")) as ws:
            await ws.receive_json()  # auth_required
            await ws.send_json({"type": "auth", "access_token": self.token})
            if (await ws.receive_json())["type"] != "auth_ok":
                raise RuntimeError("websocket authentication failed")
            for message in messages:
                await ws.send_json({"id": next(self._ws_id), **message})
                answer = await ws.receive_json()
                if not answer.get("success"):
                    raise RuntimeError(f"{message['type']}: {answer.get('error')}")
                results.append(answer.get("result"))
        return results

    async def service(self, domain: str, name: str, data: dict[str, Any]) -> Any:
        """Call an action and return its response (errors tell why, unlike REST's)."""
        (answer,) = await self.websocket(
            {
                "type": "call_service",
                "domain": domain,
                "service": name,
                "service_data": data,
                "return_response": True,
            }
        )
        return answer["response"]

    async def wait_until_loaded(self, entry_id: str) -> None:
        """Wait until the entry is set up: its actions need it loaded."""
        while True:
            (entries,) = await self.websocket(
                {"type": "config_entries/get", "domain": DOMAIN}
            )
            state = next(e["state"] for e in entries if e["entry_id"] == entry_id)
            if state == "loaded":
                return
            await asyncio.sleep(0.5)

    async def wait_for_state(self, entity_id: str) -> dict[str, Any]:
        """Wait until ``entity_id`` has a state other than unknown or unavailable."""
        while True:
            try:
                state: dict[str, Any] = await self.call(
                    "GET", f"/api/states/{entity_id}"
                )
                if state["state"] not in ("unknown", "unavailable"):
                    return state
            except RuntimeError:  # not created yet
                pass
            await asyncio.sleep(0.5)


class Sandbox:
    """The sandbox's admin API: where the demo reads the accounts it adds."""

    def __init__(self, session: aiohttp.ClientSession, url: URL) -> None:
        """Talk to the sandbox at ``url``."""
        self.session = session
        self.url = url

    async def call(self, method: str, path: str, body: Any = None) -> Any:
        """Send one admin request and return its JSON answer."""
        async with self.session.request(
            method, self.url.with_path(f"/_admin{path}"), json=body
        ) as response:
            response.raise_for_status()
            return await response.json()

    @staticmethod
    def seed(provider: str) -> dict[str, Any]:
        """Return the provider's seed: its accounts and their credentials."""
        seed: dict[str, Any] = json.loads((SEEDS_DIR / f"{provider}.json").read_text())
        return seed

    def base_url(self, provider: str) -> str:
        """Return the base URL CoinHub uses for ``provider``."""
        return str(self.url.with_path(PREFIXES[provider]))


async def add_entry(
    hass: HomeAssistant, provider: str, credentials: dict[str, str], base_url: str
) -> str | None:
    """Add a CoinHub entry through the config flow; None when it exists already."""
    flow = await hass.call(
        "POST",
        "/api/config/config_entries/flow",
        {"handler": DOMAIN, "show_advanced_options": False},
    )
    path = f"/api/config/config_entries/flow/{flow['flow_id']}"
    form = await hass.call("POST", path, {"next_step_id": provider})
    result = await hass.call(
        "POST", path, {**credentials, "advanced": {"base_url": base_url}}
    )
    if result["type"] == "abort" and result["reason"] == "already_configured":
        return None
    if result["type"] != "create_entry":
        raise RuntimeError(f"{provider} ({form['step_id']}): {result.get('errors')}")
    entry_id: str = result["result"]["entry_id"]
    print(f"  added {result['title']}", flush=True)
    return entry_id


async def options_form(hass: HomeAssistant, entry_id: str) -> dict[str, Any] | None:
    """Open the entry's options flow; None when the entry has no options."""
    try:
        form: dict[str, Any] = await hass.call(
            "POST", "/api/config/config_entries/options/flow", {"handler": entry_id}
        )
    except RuntimeError:
        return None
    return form


async def save_options(
    hass: HomeAssistant, form: dict[str, Any], changes: dict[str, Any]
) -> None:
    """Submit an options form: its defaults, with ``changes`` on top."""
    data = {
        field["name"]: field["default"]
        for field in form["data_schema"]
        if "default" in field
    }
    result = await hass.call(
        "POST",
        f"/api/config/config_entries/options/flow/{form['flow_id']}",
        data | changes,
    )
    if result["type"] != "create_entry":
        raise RuntimeError(f"options not saved: {result.get('errors')}")


async def provision_jsecoin(hass: HomeAssistant, sandbox: Sandbox) -> float | None:
    """Add the first writer account and track its sites.

    Return when (monotonic clock) the Current block sensor was turned on, or None when
    the account was there already.
    """
    seed = sandbox.seed("jsecoin")
    account = next(a for a in seed["accounts"] if a["access_level"] >= 2)
    entry_id = await add_entry(
        hass, "jsecoin", {"api_key": account["api_key"]}, sandbox.base_url("jsecoin")
    )
    if entry_id is None:
        return None
    await hass.wait_until_loaded(entry_id)
    # The dashboard shows the chain's current block, a sensor off by default: turn it on
    # (the options saved next reload the entry, which creates it).
    (entities,) = await hass.websocket({"type": "config/entity_registry/list"})
    block = next(
        e["entity_id"]
        for e in entities
        if e["config_entry_id"] == entry_id and e["translation_key"] == "block_id"
    )
    await hass.websocket(
        {
            "type": "config/entity_registry/update",
            "entity_id": block,
            "disabled_by": None,
        }
    )
    enabled_at = time.monotonic()
    form = await options_form(hass, entry_id)
    assert form is not None, "JSEcoin entries have options"
    await save_options(hass, form, {"lookups": list(account["lookups"])})
    print(f"  tracking {', '.join(account['lookups'])}", flush=True)
    return enabled_at


async def coinhub_entity_ids(hass: HomeAssistant) -> set[str]:
    """Return the IDs of CoinHub's entities."""
    (entities,) = await hass.websocket({"type": "config/entity_registry/list"})
    return {e["entity_id"] for e in entities if e["platform"] == DOMAIN}


async def forget_setup_states(hass: HomeAssistant, enabled_at: float) -> None:
    """Purge the logbook's records of the accounts' setup, reloads included.

    Saving options reloads an entry, and Home Assistant reloads it once more
    RELOAD_AFTER_UPDATE_DELAY seconds after an entity was turned on: each reload
    records "Unavailable" then "Unknown" for every entity, which the dashboard's
    logbook of transactions would show as its first rows. Nothing real has happened
    yet (a reward the live sandbox paid meanwhile leaves the logbook too, the balance
    keeps it), so the demo's logbook starts clean once the second reload is done.
    """
    settled = enabled_at + RELOAD_AFTER_UPDATE_DELAY + RELOAD_MARGIN
    await asyncio.sleep(max(0.0, settled - time.monotonic()))
    (entries,) = await hass.websocket({"type": "config_entries/get", "domain": DOMAIN})
    for entry in entries:
        await hass.wait_until_loaded(entry["entry_id"])
    await hass.wait_for_state("sensor.jsecoin_balance")
    # What the logbook shows: entities without a unit or state class (the balances'
    # history stays, for the history graph and the statistics).
    states = await hass.call("GET", "/api/states")
    coinhub = await coinhub_entity_ids(hass)
    logged = [
        s["entity_id"]
        for s in states
        if s["entity_id"] in coinhub
        # coinsoftworks saved no options: its entry was not reloaded.
        and "coinsoftworks_" not in s["entity_id"]
        and not {"unit_of_measurement", "state_class"} & s["attributes"].keys()
    ]
    await hass.call(
        "POST",
        "/api/services/recorder/purge_entities",
        {"entity_id": logged, "keep_days": 0},
    )
    # The logbook shows a change only from a state the recorder kept: without one,
    # the first transaction after the purge would be left out of it. So each entity's
    # state is recorded once more as it is (read again just before: a poll may have
    # changed it); a row without a state before it is not shown itself.
    for entity_id in logged:
        state = await hass.call("GET", f"/api/states/{entity_id}")
        await hass.call(
            "POST",
            f"/api/states/{entity_id}",
            {
                "state": state["state"],
                "attributes": state["attributes"],
                "force_update": True,
            },
        )


async def provision_coinetize(
    hass: HomeAssistant, sandbox: Sandbox, sandbox_seed: Path
) -> None:
    """Add the first user, make its websites visible and link, verify one more."""
    seed = sandbox.seed("coinetize")
    user = seed["users"][0]
    entry_id = await add_entry(
        hass,
        "coinetize",
        {"username": user["username"], "auth_token": user["auth_token"]},
        sandbox.base_url("coinetize"),
    )
    if entry_id is None:
        return
    form = await options_form(hass, entry_id)
    if form is not None and any(f["name"] == "websites" for f in form["data_schema"]):
        websites = await sandbox.call("GET", "/coinetize/websites")
        owned = [w["subdomain"] for w in websites[user["username"]]]
        await save_options(hass, form, {"websites": "\n".join(owned)})
        print(f"  showing websites {', '.join(owned)}", flush=True)
    await hass.wait_until_loaded(entry_id)
    link = await hass.service(
        DOMAIN,
        "link_website",
        {
            "config_entry_id": entry_id,
            "website": DEMO_WEBSITE,
            "link_method": "proxy",
            "protocol": "https",
        },
    )
    subdomain = link["subdomain"]
    # What the website's owner does outside Home Assistant: publish the code.
    await sandbox.call("POST", f"/coinetize/websites/{subdomain}/publish", {})
    target = {"config_entry_id": entry_id, "subdomain": subdomain}
    await hass.service(DOMAIN, "verify_website", target)
    await hass.service(DOMAIN, "add_path", target | {"path": DEMO_PATH})
    print(f"  linked and verified {DEMO_WEBSITE} ({subdomain})", flush=True)
    # The sandbox keeps nothing when it stops, but Home Assistant keeps the link: give
    # the sandbox's next starts a seed that has the website.
    websites = await sandbox.call("GET", "/coinetize/websites")
    seed["websites"] = [site for sites in websites.values() for site in sites]
    await asyncio.to_thread(
        sandbox_seed.write_text, json.dumps({"coinetize": seed}, indent=2)
    )


async def provision_coinsoftworks(hass: HomeAssistant, sandbox: Sandbox) -> None:
    """Add the first account with the API enabled."""
    seed = sandbox.seed("coinsoftworks")
    account = next(a for a in seed["accounts"] if a["api_enabled"])
    await add_entry(
        hass,
        "coinsoftworks",
        {"api_key": account["api_key"], "access_token": account["access_token"]},
        sandbox.base_url("coinsoftworks"),
    )


async def expose_to_assist(hass: HomeAssistant) -> None:
    """Let Assist answer for every CoinHub sensor, e.g. the JSEcoin balance."""
    entities = await hass.websocket({"type": "config/entity_registry/list"})
    sensors = [
        e["entity_id"]
        for e in entities[0]
        if e["platform"] == DOMAIN and e["entity_id"].startswith("sensor.")
    ]
    await hass.websocket(
        {
            "type": "homeassistant/expose_entity",
            "assistants": ["conversation"],
            "entity_ids": sensors,
            "should_expose": True,
        }
    )


async def show_dashboard_first(hass: HomeAssistant) -> None:
    """Make CoinHub's dashboard everyone's default view, in the demo's dark theme."""
    (core,) = await hass.websocket({"type": "frontend/get_system_data", "key": "core"})
    await hass.websocket(
        {
            "type": "frontend/set_system_data",
            "key": "core",
            "value": (core.get("value") or {}) | {"default_panel": "lovelace"},
        }
    )
    await hass.call(
        "POST",
        "/api/services/frontend/set_theme",
        {"name": DEMO_THEME, "mode": "dark"},
    )


async def start_demo_action(hass: HomeAssistant) -> None:
    """Press the demo action's button, so the last action status has a value.

    After a restart the button comes once CoinHub's entries are set up again.
    """
    while True:
        states = await hass.call("GET", "/api/states")
        button = next(
            (
                s["entity_id"]
                for s in states
                if s["entity_id"].startswith("button.")
                and s["state"] != "unavailable"
                and s["attributes"].get("friendly_name", "").endswith(DEMO_ACTION)
            ),
            None,
        )
        if button is not None:
            break
        await asyncio.sleep(0.5)
    await hass.call("POST", "/api/services/button/press", {"entity_id": button})


async def provision(hass_url: URL, sandbox_url: URL, sandbox_seed: Path) -> None:
    """Do every step, then print where to go and how to log in."""
    started = time.monotonic()
    async with aiohttp.ClientSession() as session:
        hass = HomeAssistant(session, hass_url)
        sandbox = Sandbox(session, sandbox_url)
        await hass.wait_until_up()
        if await hass.onboard_or_log_in():
            print("CoinHub demo: onboarded the demo user", flush=True)
        await show_dashboard_first(hass)
        jsecoin_enabled_at = await provision_jsecoin(hass, sandbox)
        await provision_coinetize(hass, sandbox, sandbox_seed)
        await provision_coinsoftworks(hass, sandbox)
        await expose_to_assist(hass)
        await start_demo_action(hass)
        if jsecoin_enabled_at is not None:
            await forget_setup_states(hass, jsecoin_enabled_at)
        balance = await hass.wait_for_state("sensor.jsecoin_balance")
    print(
        "\n"
        f"  CoinHub demo ready in {time.monotonic() - started:.0f} s "
        f"(JSEcoin balance {balance['state']} JSE)\n"
        f"  Open {hass_url}  and log in as {DEMO_USERNAME} / {DEMO_PASSWORD}\n"
        "  Ctrl+C stops Home Assistant and the sandbox.\n",
        flush=True,
    )


def main() -> None:
    """Parse the command line and provision."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hass", type=URL, required=True, help="Home Assistant URL")
    parser.add_argument("--sandbox", type=URL, required=True, help="sandbox URL")
    parser.add_argument(
        "--sandbox-seed",
        type=Path,
        required=True,
        help="where to write the seed that restarts the sandbox with the demo's website",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="give up after this many seconds"
    )
    args = parser.parse_args()
    asyncio.run(
        asyncio.wait_for(
            provision(args.hass, args.sandbox, args.sandbox_seed), args.timeout
        )
    )


if __name__ == "__main__":
    main()
