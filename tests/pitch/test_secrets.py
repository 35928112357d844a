"""The API key never shows: not in logs (the SDK's debug logs included), reprs, messages or tracebacks."""

from __future__ import annotations

import logging
import traceback

import pytest

from crm_core.pitch import (
    LlmDrafter,
    LlmUnavailable,
    PitchConfig,
    draft_batch,
    draft_pitch,
)
from tests.pitch.conftest import KEY, closed_port_url, fields

SECRET = "3f9c0e7d1b2a"  # the distinctive piece of KEY, in case a log shortens the key


def _no_key(text: str):
    assert KEY not in text and SECRET not in text


@pytest.mark.parametrize("behaviour, options", [
    ("answer", {}), ("status", {"status": 401, "echo_auth": True}), ("status", {"status": 500, "echo_auth": True}),
    ("status", {"status": 429, "echo_auth": True}), ("stall", {}),
])
def test_the_key_is_not_logged_whatever_the_service_does(stub, caplog, behaviour, options):
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's too
    server = stub(behaviour, **options)
    config = PitchConfig(deadline_seconds=1, timeout_seconds=2)
    draft = draft_pitch(fields(), tone="formal", channel="email", language="en", config=config, api_key=KEY)
    assert server.requests >= 1  # the key did go to the service...
    _no_key(caplog.text)  # ...and nowhere else
    _no_key(repr(draft))
    for record in caplog.records:
        _no_key(record.getMessage())


def test_the_key_is_not_logged_when_the_connection_is_refused(monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", closed_port_url())
    draft_pitch(fields(), tone="formal", channel="sms", language="en", config=PitchConfig(), api_key=KEY)
    _no_key(caplog.text)


def test_a_batch_logs_no_key(stub, caplog):
    caplog.set_level(logging.DEBUG)
    stub("status", status=401, echo_auth=True)
    result = draft_batch([fields()] * 3, tone="formal", channel="sms", language="en", config=PitchConfig(),
                         api_key=KEY)
    _no_key(caplog.text)
    _no_key(repr(result))


def test_no_repr_or_message_shows_the_key(stub):
    stub("status", status=401, echo_auth=True)
    config = PitchConfig()
    drafter = LlmDrafter(config, KEY)
    for text in (repr(config), str(config), repr(drafter), str(drafter)):
        _no_key(text)
    assert "claude-sonnet-5-5" in repr(drafter)
    with pytest.raises(LlmUnavailable) as caught:
        drafter.draft(fields(), "formal", "email", "en")
    error = caught.value
    assert error.code == "AUTH" and str(error) == "the AI service refused the key (401)"
    _no_key(repr(error))
    _no_key("".join(traceback.format_exception(error)))
    assert error.__cause__ is None and error.__context__ is None  # the SDK's error, which quotes the body, is dropped
    drafter.close()


def test_the_key_is_not_a_setting():
    assert not [name for name in PitchConfig.__dataclass_fields__ if "key" in name]
