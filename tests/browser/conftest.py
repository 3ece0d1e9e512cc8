"""Browser tests: the demo started as the README says, driven through Chromium.

They run only with ``scripts/test --browser`` (which sets COINHUB_BROWSER_TESTS), in a
pytest of their own without Home Assistant's test plugin or coverage. The demo runs from
a temporary folder on free ports, with a mining reward every few seconds. To look at an
already running demo instead (e.g. for screenshots with statistics), set
COINHUB_DEMO_URL and COINHUB_SANDBOX_URL.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
import json
import os
from pathlib import Path
import re
import signal
import socket
import subprocess
import tempfile
import threading
import time
from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
import requests

if TYPE_CHECKING:
    from playwright.sync_api import Browser, BrowserContext, Page

if not os.environ.get("COINHUB_BROWSER_TESTS"):
    collect_ignore_glob = ["test_*.py"]

ROOT = Path(__file__).resolve().parents[2]
SEEDS = ROOT / "sandbox" / "seeds"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEMO_USERNAME = "demo"
DEMO_PASSWORD = "coinhub-demo"
LIVE_SECONDS = 5
STARTUP_SECONDS = 180
# Screenshots go to a temporary folder, or where COINHUB_SCREENSHOTS says (docs/ for the
# README's pictures).
SCREENSHOTS = Path(
    os.environ.get("COINHUB_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "coinhub-screenshots"
)


def seed(provider: str) -> dict[str, Any]:
    """Return a provider's default seed: the demo's accounts and their secrets."""
    data: dict[str, Any] = json.loads((SEEDS / f"{provider}.json").read_text())
    return data


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Demo:
    """A running demo: its addresses, its output and calls to both servers."""

    def __init__(self, url: str, sandbox_url: str) -> None:
        """Refer to the demo's Home Assistant and sandbox."""
        self.url = url
        self.sandbox_url = sandbox_url
        self.output: list[str] = []
        self.token = ""
        self.started_in = 0.0

    def api(self, method: str, path: str, body: Any = None) -> Any:
        """Call Home Assistant's REST API as the demo user."""
        response = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def websocket(self, message: dict[str, Any]) -> Any:
        """Send one websocket command as the demo user; return its result."""

        async def exchange() -> Any:
            async with (
                aiohttp.ClientSession() as session,
                session.ws_connect(f"{self.url}/api/websocket") as ws,
            ):
                await ws.receive_json()
                await ws.send_json({"type": "auth", "access_token": self.token})
                await ws.receive_json()
                await ws.send_json({"id": 1, **message})
                answer = await ws.receive_json()
            assert answer["success"], answer
            return answer["result"]

        # Playwright's synchronous API owns this thread's event loop.
        with ThreadPoolExecutor(1) as executor:
            return executor.submit(asyncio.run, exchange()).result()

    def entries(self) -> list[dict[str, Any]]:
        """Return CoinHub's config entries."""
        entries: list[dict[str, Any]] = self.websocket(
            {"type": "config_entries/get", "domain": "coinhub"}
        )
        return entries

    def state(self, entity_id: str) -> dict[str, Any]:
        """Return an entity's state object."""
        state: dict[str, Any] = self.api("GET", f"/api/states/{entity_id}")
        return state

    def poll(self, entity_id: str) -> None:
        """Have CoinHub poll the entity's account now."""
        self.api(
            "POST",
            "/api/services/homeassistant/update_entity",
            {"entity_id": entity_id},
        )

    def sandbox(self, path: str) -> Any:
        """Read the sandbox's admin API."""
        response = requests.get(f"{self.sandbox_url}/_admin{path}", timeout=30)
        response.raise_for_status()
        return response.json()

    def log_in(self) -> None:
        """Get a token for the demo user through the login flow."""
        client_id = f"{self.url}/"
        flow = requests.post(
            f"{self.url}/auth/login_flow",
            json={
                "client_id": client_id,
                "handler": ["homeassistant", None],
                "redirect_uri": client_id,
            },
            timeout=30,
        ).json()
        result = requests.post(
            f"{self.url}/auth/login_flow/{flow['flow_id']}",
            json={
                "username": DEMO_USERNAME,
                "password": DEMO_PASSWORD,
                "client_id": client_id,
            },
            timeout=30,
        ).json()
        tokens = requests.post(
            f"{self.url}/auth/token",
            data={
                "grant_type": "authorization_code",
                "code": result["result"],
                "client_id": client_id,
            },
            timeout=30,
        ).json()
        self.token = tokens["access_token"]


def _read_output(process: subprocess.Popen[str], demo: Demo) -> None:
    assert process.stdout is not None
    for line in process.stdout:
        demo.output.append(line)


class DemoProcess:
    """``scripts/demo`` run as the README says, in ``folder`` on free ports."""

    def __init__(self, folder: Path) -> None:
        """Choose the ports; nothing runs yet."""
        self.folder = folder
        self.port, self.sandbox_port = _free_port(), _free_port()
        self.process: subprocess.Popen[str] | None = None
        self.demo = Demo(self.url, f"http://127.0.0.1:{self.sandbox_port}")

    @property
    def url(self) -> str:
        """Return Home Assistant's address."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Demo:
        """Start the demo and wait until it says it is ready; return it logged in."""
        self.demo = Demo(self.url, self.demo.sandbox_url)
        env = os.environ | {
            "COINHUB_DEMO_DIR": str(self.folder),
            "COINHUB_DEMO_PORT": str(self.port),
            "COINHUB_SANDBOX_PORT": str(self.sandbox_port),
            "COINHUB_DEMO_LIVE_SECONDS": str(LIVE_SECONDS),
        }
        started = time.monotonic()
        self.process = subprocess.Popen(  # noqa: S603 - the repository's own script
            [str(ROOT / "scripts" / "demo")],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        threading.Thread(
            target=_read_output, args=(self.process, self.demo), daemon=True
        ).start()
        while not any("CoinHub demo ready" in line for line in self.demo.output):
            if (
                self.process.poll() is not None
                or time.monotonic() - started > STARTUP_SECONDS
            ):
                self.stop()
                pytest.fail("the demo did not start:\n" + "".join(self.demo.output))
            time.sleep(0.2)
        self.demo.started_in = time.monotonic() - started
        self.demo.log_in()
        return self.demo

    def stop(self) -> int:
        """Press Ctrl+C (the signal reaches the whole group); return the exit code."""
        assert self.process is not None
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
            raise


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    """Start ``scripts/demo`` on free ports in a temporary folder; stop it with Ctrl+C."""
    if url := os.environ.get("COINHUB_DEMO_URL"):
        running = Demo(url, os.environ["COINHUB_SANDBOX_URL"])
        running.log_in()
        yield running
        return
    demo_process = DemoProcess(tmp_path_factory.mktemp("demo"))
    try:
        yield demo_process.start()
    finally:
        demo_process.stop()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Playwright downloads no browser."""
    # Imported here: the suite without browser tests runs without Playwright.
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def signed_in(browser: Browser, demo: Demo) -> Iterator[BrowserContext]:
    """A browser context logged in as the demo user through the login page."""
    context = browser.new_context(
        viewport={"width": 1400, "height": 1000}, color_scheme="dark"
    )
    context.set_default_timeout(30_000)
    page = context.new_page()
    page.goto(demo.url)
    page.get_by_label("Username").fill(DEMO_USERNAME)
    page.get_by_label("Password", exact=True).fill(DEMO_PASSWORD)
    page.keyboard.press("Enter")
    # The demo's default view is CoinHub's dashboard.
    page.wait_for_url(re.compile(r"/lovelace/wallet$"))
    page.close()
    yield context
    context.close()


@pytest.fixture
def page(signed_in: BrowserContext) -> Iterator[Page]:
    """A fresh tab of the logged-in browser."""
    page = signed_in.new_page()
    yield page
    page.close()


def screenshot(page: Page, name: str) -> None:
    """Save a screenshot of the page."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=SCREENSHOTS / name)
