"""With the service answering: the draft is the model's, and the request says what was asked."""

from __future__ import annotations

import json

import pytest

from crm_core.pitch import (
    CHANNELS,
    TONES,
    PitchConfig,
    PitchInputError,
    draft_pitch,
    request_hash,
)
from crm_core.pitch.prompt import as_plain_text, parse_reply
from tests.pitch.conftest import KEY, fields

PRODUCT = "WHITE HANGING HEART T-LIGHT HOLDER"


@pytest.mark.parametrize("tone", TONES)
@pytest.mark.parametrize("channel", CHANNELS)
def test_the_request_names_tone_channel_and_language_and_the_draft_is_the_models(stub, config, tone, channel):
    server = stub("answer")
    draft = draft_pitch(fields(), tone=tone, channel=channel, language="French", config=config, api_key=KEY)
    assert (draft.source, draft.model, draft.tone, draft.channel, draft.language) == (
        "llm", "claude-sonnet-5-5", tone, channel, "fr")
    assert draft.reason_code == "LLM_DRAFTED" and PRODUCT in draft.text
    assert (draft.subject is not None) == (channel == "email")
    (body,) = server.bodies
    system, content = body["system"], body["messages"][0]["content"]
    for text in (system, content):
        assert f"Tone: {tone}" in text and f"Channel: {channel}" in text and "French" in text
    assert (body["model"], body["max_tokens"], body["output_config"]) == ("claude-sonnet-5-5", 1024, {"effort": "low"})
    assert "tools" not in body and "tool_choice" not in body
    assert draft.request_hash == request_hash(fields(), tone, channel, "fr")


def test_the_sdk_gets_the_configured_timeout(stub):
    server = stub("answer")
    draft_pitch(fields(), tone="concise", channel="sms", language="en", config=PitchConfig(timeout_seconds=7),
                api_key=KEY)
    assert server.headers[0]["x-stainless-read-timeout"] == "7"


def test_effort_can_be_left_out_for_models_that_do_not_know_it(stub):
    server = stub("answer")
    draft_pitch(fields(), tone="concise", channel="sms", language="en", config=PitchConfig(effort=""), api_key=KEY)
    assert "output_config" not in server.bodies[0]


def test_an_sms_over_160_characters_is_kept_but_fails_its_check(stub, config):
    stub("answer", reply=lambda body: json.dumps({"subject": "", "body": f"{PRODUCT} " + "lovely " * 30}))
    draft = draft_pitch(fields(), tone="friendly", channel="sms", language="en", config=config, api_key=KEY)
    assert draft.source == "llm" and len(draft.text) > 160
    assert [f.code for f in draft.failures] == ["PITCH_SMS_TOO_LONG"]


def test_checks_run_on_the_models_text(stub, config):
    text = "Hi Anna! Get WHITE HANGING HEART T-LIGHT HOLDER at 20% off, only £1.99, see www.shop.com. <NAME>"
    stub("answer", reply=lambda body: json.dumps({"subject": "Deal", "body": text}))
    draft = draft_pitch(fields(), tone="friendly", channel="email", language="en", config=config, api_key=KEY)
    assert [f.code for f in draft.failures] == ["PITCH_PLACEHOLDER", "PITCH_URL", "PITCH_PRICE", "PITCH_DISCOUNT"]
    assert "<NAME>" not in draft.text  # shown as plain text, found in the raw answer


def test_the_model_reported_by_the_service_is_recorded(stub, config):
    server = stub("answer")
    draft = draft_pitch(fields(), tone="formal", channel="call", language="en",
                        config=PitchConfig(model="claude-haiku-4-5", deadline_seconds=2), api_key=KEY)
    assert draft.model == "claude-haiku-4-5" == server.bodies[0]["model"]


def test_the_request_hash_is_stable_and_depends_on_every_input():
    h = request_hash(fields(), "friendly", "email", "en")
    assert h == request_hash(fields(), "friendly", "email", "en") and len(h) == 64
    others = {request_hash(fields(), "formal", "email", "en"), request_hash(fields(), "friendly", "sms", "en"),
              request_hash(fields(), "friendly", "email", "fr"),
              request_hash(fields(price="3.00"), "friendly", "email", "en"),
              request_hash(fields(include_first_name=False), "friendly", "email", "en")}
    assert h not in others and len(others) == 5


@pytest.mark.parametrize("kwargs, word", [({"tone": "sarcastic"}, "tone"), ({"channel": "fax"}, "channel"),
                                          ({"language": "Klingon!"}, "language")])
def test_unknown_tone_channel_or_language_is_refused(config, kwargs, word):
    args = {"tone": "friendly", "channel": "email", "language": "en", **kwargs}
    with pytest.raises(PitchInputError, match=word):
        draft_pitch(fields(), config=config, api_key=KEY, **args)


@pytest.mark.parametrize("reply, expected", [
    ('{"subject": "S", "body": "B"}', ("S", "B")),
    ('Sure!\n```json\n{"subject": "S", "body": "**B**"}\n```', ("S", "B")),
    ("Subject: Hello there\n\nThe body", ("Hello there", "The body")),
    ("**Subject:** Hi\nBody text", ("Hi", "Body text")),
    ("Just a body", ("", "Just a body")),
])
def test_answers_are_read_robustly(reply, expected):
    assert tuple(as_plain_text(x) for x in parse_reply(reply)) == expected
