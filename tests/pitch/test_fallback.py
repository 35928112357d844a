"""Every way the AI service can fail, or be off, gives the template with the right reason, in time."""

from __future__ import annotations

import time

import anthropic
import pytest

from crm_core.pitch import PitchConfig, draft_pitch, request_hash
from tests.pitch.conftest import KEY, closed_port_url, fields


def _draft(config, **kwargs):
    kwargs.setdefault("api_key", KEY)
    return draft_pitch(fields(), tone="friendly", channel="email", language="en", config=config, **kwargs)


def _is_template(draft, code, words):
    assert draft.source == "template" and draft.model is None
    assert draft.reason_code == code and words in draft.reason
    assert draft.text and draft.subject and "WHITE HANGING HEART T-LIGHT HOLDER" in draft.text
    assert draft.request_hash == request_hash(fields(), "friendly", "email", "en")
    assert draft.failures == ()


@pytest.fixture
def no_client(monkeypatch):
    """Make building an SDK client fail the test."""
    def refuse(*args, **kwargs):
        raise AssertionError("an SDK client was built")
    monkeypatch.setattr(anthropic, "Anthropic", refuse)


def test_a_stalled_service_gives_the_template_within_the_deadline(stub, config):
    server = stub("stall")
    started = time.monotonic()
    draft = _draft(config)
    elapsed = time.monotonic() - started
    assert elapsed < config.deadline_seconds + 1.5
    _is_template(draft, "TIMEOUT", "timed out after 2 s")
    assert server.requests >= 1


def test_the_sdk_timeout_alone_also_falls_back(stub):
    """A per-read timeout shorter than the deadline ends the call first; its reason says how long it took."""
    stub("stall")
    config = PitchConfig(timeout_seconds=0.5, max_retries=0, deadline_seconds=5)
    started = time.monotonic()
    draft = _draft(config)
    assert time.monotonic() - started < 2.5
    _is_template(draft, "TIMEOUT", "timed out after")


@pytest.mark.parametrize("status, code, words", [
    (401, "AUTH", "refused the key (401)"),
    (403, "FORBIDDEN", "refused the request (403)"),
    (429, "RATE_LIMITED", "rate-limiting requests (429)"),
    (500, "SERVER_ERROR", "failed (500)"),
    (529, "SERVER_ERROR", "failed (529)"),
    (400, "HTTP_ERROR", "rejected the request (400)"),
])
def test_an_http_error_falls_back_every_time_with_its_reason(stub, config, status, code, words):
    server = stub("status", status=status)
    for _ in range(3):
        _is_template(_draft(config), code, words)
    retried = status in (429, 500, 529)  # the SDK retries these, max_retries = 1 more time
    assert server.requests == 3 * (2 if retried else 1)


def test_a_refused_connection_falls_back(monkeypatch, config):
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())
    for _ in range(2):
        _is_template(_draft(config), "CONNECTION", "could not be reached")


def test_nextbest_llm_off_opens_no_connection_and_builds_no_client(stub, config, monkeypatch, no_client):
    server = stub("answer")
    monkeypatch.setenv("NEXTBEST_LLM", "off")
    _is_template(_draft(config), "LLM_OFF", "NEXTBEST_LLM=off")
    assert server.connections == 0


def test_drafting_switched_off_in_config_opens_no_connection(stub, no_client):
    server = stub("answer")
    _is_template(_draft(PitchConfig(enabled=False)), "LLM_DISABLED", "switched off in the settings")
    assert server.connections == 0


@pytest.mark.parametrize("key", [None, "", "   "])
def test_no_key_gives_the_template_and_opens_no_connection(stub, config, no_client, key):
    server = stub("answer")
    _is_template(_draft(config, api_key=key), "NO_API_KEY", "no API key configured")
    assert server.connections == 0


def test_the_key_is_read_from_the_environment_when_not_passed(stub, config, monkeypatch):
    server = stub("answer")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert _draft(config, api_key=None).source == "llm"
    assert server.headers[0].get("Authorization", server.headers[0].get("x-api-key", "")).endswith(KEY)


@pytest.mark.parametrize("reply", ["", "not json and no subject line", '{"subject": "", "body": "no subject"}',
                                   '{"subject": "Hi", "body": ""}'])
def test_an_answer_that_cannot_be_used_falls_back(stub, config, reply):
    stub("answer", reply=lambda body: reply)
    _is_template(_draft(config), "BAD_RESPONSE", "could not be used")


def test_a_refusal_falls_back(stub, config):
    stub("answer", stop_reason="refusal")
    _is_template(_draft(config), "REFUSED", "declined")
