"""Browser fixtures: Debian chromium through Playwright, and a served NextBest on a free loopback port.

Browser tests skip with a stated reason where /usr/bin/chromium is absent,
but fail when ``CI=true`` (CI installs chromium, so its absence is a broken
CI, not a reason to skip).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SERVER_START_TIMEOUT = 60


def _load_sample_db():
    """tests/app/sample_db.py (one sample for AppTest and browser tests)."""
    if "sample_db" in sys.modules:
        return sys.modules["sample_db"]
    spec = importlib.util.spec_from_file_location("sample_db", ROOT / "tests" / "app" / "sample_db.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["sample_db"] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    """Debian's chromium, or skip (fail under CI=true) when it is not installed."""
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail("CI=true but /usr/bin/chromium is missing: .ci/run must install Debian's chromium")
    pytest.skip("Debian chromium (/usr/bin/chromium) is not installed; `apt-get install chromium` to run browser tests")


@pytest.fixture(scope="session")
def browser(chromium_path):
    """A headless chromium driven by Playwright's sync API."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class ServedApp:
    """A running ``streamlit run app/main.py`` over a prepared temporary database."""

    url: str
    credentials_file: Path
    log_file: Path
    database_url: str


def _wait_healthy(url: str, proc: subprocess.Popen, log_file: Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"streamlit exited with {proc.returncode}:\n{log_file.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"streamlit did not answer within {SERVER_START_TIMEOUT}s:\n{log_file.read_text()[-3000:]}")


@contextlib.contextmanager
def serve(tmp: Path):
    """Serve NextBest from a fresh sample database in ``tmp`` until the block ends."""
    url_db = f"sqlite:///{tmp / 'app.db'}"
    _load_sample_db().build_sample_database(url_db, with_users=False, with_bank=False)
    port = _free_port()
    env = {**os.environ, "NEXTBEST_DATABASE_URL": url_db,
           "NEXTBEST_CREDENTIALS_FILE": str(tmp / "demo_credentials.txt"),
           "NEXTBEST_COOKIE_KEY_FILE": str(tmp / "secrets" / "cookie_key"),
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    log_file = tmp / "streamlit.log"
    with open(log_file, "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(ROOT / "app" / "main.py"),
             "--server.port", str(port), "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log_file)
        yield ServedApp(url, tmp / "demo_credentials.txt", log_file, url_db)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)  # our own process group only
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)


@pytest.fixture(scope="session")
def served_app(tmp_path_factory, chromium_path) -> ServedApp:
    """NextBest served on a free loopback port, over a sample database without users, shared by the session.

    The app's first start creates the demo users and writes their passwords
    to ``credentials_file`` (as ``make run`` does into data/).
    """
    with serve(tmp_path_factory.mktemp("served")) as app:
        yield app


@pytest.fixture
def own_served_app(tmp_path, chromium_path) -> ServedApp:
    """A served NextBest of the test's own, for a test that changes the data (an import)."""
    with serve(tmp_path) as app:
        yield app


def demo_password(app: ServedApp, username: str) -> str:
    """The password the served app's first start gave a demo user."""
    for line in app.credentials_file.read_text().splitlines():
        parts = line.split()
        if not line.startswith("#") and len(parts) == 3 and parts[1] == username:
            return parts[2]
    raise AssertionError(f"{username} not in {app.credentials_file}")


def log_in(page, app: ServedApp, username: str) -> None:
    """Fill the login form as a demo user and submit it."""
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password", exact=True).fill(demo_password(app, username))
    page.get_by_role("button", name="Log in").click()


FLOW_TIMEOUT_MS = 60_000


@contextlib.contextmanager
def logged_in_page(browser, app: ServedApp, username: str = "analyst", height: int = 1000):
    """A fresh browser context on ``app``, logged in as a demo user and showing the Overview."""
    context = browser.new_context(viewport={"width": 1440, "height": height})
    page = context.new_page()
    page.set_default_timeout(FLOW_TIMEOUT_MS)
    try:
        page.goto(app.url)
        log_in(page, app, username)
        page.get_by_role("heading", name="Overview").first.wait_for()  # .first: a rerun may show both runs' pages
        yield page
    finally:
        context.close()


def click_until(target, shown, attempts: int = 3, attempt_timeout_ms: int | None = None) -> None:
    """Click ``target`` until ``shown`` appears: on a loaded machine a rerun or Plotly may swallow a click."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        target.click()
        try:
            shown.wait_for(timeout=attempt_timeout_ms or FLOW_TIMEOUT_MS // attempts)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise


def choose_option(page, combobox, value: str, attempts: int = 3) -> None:
    """Type ``value`` into a select box and pick that option; open and type again when the option does not come
    (on a fresh clone a rerun landing between the click and the typing left the list closed for good)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name=value, exact=True)
    for attempt in range(attempts):
        combobox.click()
        combobox.fill(value)
        try:
            option.click(timeout=FLOW_TIMEOUT_MS // attempts)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            combobox.press("Escape")


def reload_until(page, shown, attempts: int = 3, attempt_timeout_ms: int | None = None) -> None:
    """Wait for ``shown`` to be in the page; reload when it does not come (once on a fresh clone a page drew
    its heading and never the rest of its first run; the login cookie keeps the session over a reload)."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    for attempt in range(attempts):
        try:
            shown.wait_for(state="attached", timeout=attempt_timeout_ms or FLOW_TIMEOUT_MS // attempts)
            return
        except PlaywrightTimeout:
            if attempt == attempts - 1:
                raise
            page.reload()


def go(page, title: str) -> None:
    """Open a page from the sidebar (showing its hidden lines first: Streamlit folds a long menu) and wait for
    its heading."""
    nav = page.get_by_test_id("stSidebarNav")
    nav.wait_for()
    link = nav.get_by_role("link", name=title, exact=True)
    more = page.get_by_text(re.compile(r"^View \d+ more$"))
    if not link.count() and more.count():
        more.first.click()
    click_until(link, page.get_by_role("heading", name=title).first)
