"""Fixtures of the pitch tests: a clean environment that cannot reach the network, and the stub service."""

from __future__ import annotations

import socket

import pytest

from crm_core.pitch import PitchConfig, pitch_fields
from tests.pitch.stub_server import StubAnthropic

KEY = "sk-ant-test-3f9c0e7d1b2a-DO-NOT-LEAK"


def closed_port_url() -> str:
    """A loopback URL on a port nothing listens on (connections are refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture(autouse=True)
def offline_environment(monkeypatch):
    """No key, no switch, no proxy, and the SDK aimed at a closed loopback port unless a test points it at a stub."""
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_PROFILE", "ANTHROPIC_CONFIG_DIR",
                 "ANTHROPIC_CUSTOM_HEADERS", "NEXTBEST_LLM", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy",
                 "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())


@pytest.fixture(scope="session", autouse=True)
def sdk_imported():
    """Import the SDK once (about 2 s here), so the deadline tests time the call, not the import."""
    import anthropic  # noqa: F401


@pytest.fixture
def stub(monkeypatch):
    """``stub(behaviour, **options)``: a started StubAnthropic that ANTHROPIC_BASE_URL points at."""
    started = []

    def start(behaviour: str = "answer", **options) -> StubAnthropic:
        server = StubAnthropic(behaviour, **options).start()
        started.append(server)
        monkeypatch.setenv("ANTHROPIC_BASE_URL", server.url)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def config() -> PitchConfig:
    """Defaults, with a 2 s deadline and 3 s SDK timeout so failures are quick."""
    return PitchConfig(deadline_seconds=2.0, timeout_seconds=3.0)


def offer(**overrides) -> dict:
    """An offer row as the offers view gives it, plus fields that must never be read."""
    row = {"first_name": "Anna", "segment_label": "Champions", "persona": "Weekend gift buyers",
           "scenario": "CROSS_SELL", "product_name": "WHITE HANGING HEART T-LIGHT HOLDER", "family": "Candles",
           "price": "2.95", "explanation": "35% of the customers who bought the jam jar also bought this.",
           "email": "anna@example.com", "phone": "+44 20 7946 0958", "customer_id": "C-10001"}
    row.update(overrides)
    return row


def fields(include_first_name: bool = True, **overrides):
    """PitchFields of :func:`offer` in GBP."""
    return pitch_fields(offer(**overrides), include_first_name=include_first_name, currency="GBP")


# --------------------------------------------------------------------------- stored offers (the use cases)

@pytest.fixture(scope="session")
def _run_template(tmp_path_factory):
    """The UI sample database (tests/app/sample_db.py) with one succeeded run over ``shop``: 120 gated offers."""
    from tests.apptest_support import LATEST, build_template

    path = tmp_path_factory.mktemp("pitch_sample") / "template.db"
    build_template(path, runs=(LATEST,))
    return path


@pytest.fixture
def run_db(_run_template, tmp_path, monkeypatch):
    """A fresh copy of the template (the app's environment points at it)."""
    from tests.apptest_support import cheap_bcrypt, database_copy

    with cheap_bcrypt(), database_copy(_run_template, tmp_path, monkeypatch) as (_, database):
        yield database
