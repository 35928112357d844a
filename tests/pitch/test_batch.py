"""Batches: progress, bounded concurrency, stopping keeps what was drafted, giving up on a failing service."""

from __future__ import annotations

import json
import threading
import time

import anthropic
import pytest

from crm_core.pitch import PitchConfig, draft_batch, estimate_batch
from tests.pitch.conftest import KEY, fields


def _items(n, **changes):
    return [fields(product_name=f"LANTERN NUMBER {i}", **changes) for i in range(n)]


def _batch(items, config, **kwargs):
    kwargs.setdefault("api_key", KEY)
    return draft_batch(items, tone="friendly", channel="sms", language="en", config=config, **kwargs)


def test_progress_and_each_draft_are_reported_in_the_calling_thread(stub, config):
    stub("answer", delay=0.05)
    calls, caller = [], threading.current_thread()

    def on_draft(index, draft):
        assert threading.current_thread() is caller
        calls.append(("draft", index, draft.source))

    def progress(done, total):
        calls.append(("progress", done, total))

    result = _batch(_items(10), config, on_draft=on_draft, progress=progress)
    assert [c for c in calls if c[0] == "progress"] == [("progress", i, 10) for i in range(1, 11)]
    assert sorted(c[1] for c in calls if c[0] == "draft") == list(range(10))
    assert list(result.drafts) == list(range(10)) and not result.stopped and result.not_drafted == ()
    assert all(d.source == "llm" and f"NUMBER {i}" in d.text for i, d in result.drafts.items())


@pytest.mark.parametrize("concurrency", [1, 3, 5])
def test_no_more_requests_are_in_flight_than_the_concurrency(stub, concurrency):
    server = stub("answer", delay=0.2)
    _batch(_items(3 * concurrency), PitchConfig(concurrency=concurrency))
    assert server.max_in_flight == concurrency


def test_stopping_keeps_what_was_drafted_and_starts_nothing_new(stub, config):
    server = stub("answer", delay=0.3)
    stop = threading.Event()

    def on_draft(index, draft):
        if index >= 2:
            stop.set()

    started = time.monotonic()
    result = _batch(_items(20), PitchConfig(concurrency=2), stop_event=stop, on_draft=on_draft)
    assert result.stopped and time.monotonic() - started < 3
    assert 3 <= len(result.drafts) <= 4 and server.requests <= 5
    assert set(result.not_drafted) == set(range(20)) - set(result.drafts)
    assert all(d.source == "llm" for d in result.drafts.values())


def test_stopping_abandons_drafts_that_wait_for_a_stalled_service(stub):
    stub("stall")
    stop = threading.Event()
    threading.Timer(0.5, stop.set).start()
    started = time.monotonic()
    result = _batch(_items(8), PitchConfig(deadline_seconds=10, timeout_seconds=10), stop_event=stop)
    assert time.monotonic() - started < 2
    assert result.stopped and result.drafts == {} and result.not_drafted == tuple(range(8))


def test_a_batch_without_a_key_is_all_templates_and_builds_no_client(stub, config, monkeypatch):
    server = stub("answer")
    monkeypatch.setattr(anthropic, "Anthropic", lambda **kw: pytest.fail("an SDK client was built"))
    result = _batch(_items(6), config, api_key=None)
    assert {(d.source, d.reason_code) for d in result.drafts.values()} == {("template", "NO_API_KEY")}
    assert server.connections == 0


def test_a_refused_key_stops_the_batch_calling_the_service(stub, config):
    server = stub("status", status=401)
    result = _batch(_items(12), PitchConfig(concurrency=2))
    assert server.requests <= 2
    assert {d.reason_code for d in result.drafts.values()} == {"AUTH"} and len(result.drafts) == 12


def test_a_stalled_service_is_given_up_after_five_timeouts_in_a_row(stub):
    server = stub("stall")
    started = time.monotonic()
    result = _batch(_items(16), PitchConfig(concurrency=2, deadline_seconds=0.5, timeout_seconds=5))
    assert time.monotonic() - started < 3  # not 16 x 0.5 s / 2
    codes = [d.reason_code for d in result.drafts.values()]
    assert len(codes) == 16 and codes.count("TIMEOUT") in (5, 6) and server.requests <= 6
    gave_up = [d for d in result.drafts.values() if d.reason_code == "GAVE_UP"]
    assert gave_up and "failed 5 times in a row" in gave_up[0].reason and "timed out" in gave_up[0].reason


def test_the_batch_checks_each_draft_against_the_other_customers_names(stub, config):
    def reply(body):
        data = json.loads(body["messages"][0]["content"].split("<offer_data>\n")[1].split("\n</offer_data>")[0])
        return json.dumps({"subject": "", "body": f"Hi {data['first_name']}, {data['product_name']} for you, Tom."})

    stub("answer", reply=reply)
    items = [fields(first_name="Anna", product_name="JAM JAR"), fields(first_name="Tom", product_name="MUG")]
    result = _batch(items, config)
    assert [f.code for f in result.drafts[0].failures] == ["PITCH_OTHER_NAME"]  # Tom is the other customer
    assert result.drafts[1].failures == ()  # his own name


def test_the_estimate_is_made_before_the_batch_and_follows_the_prices():
    config = PitchConfig()
    e = estimate_batch(1000, config)
    assert e.drafts == 1000 and e.tokens_out == 1000 * config.expected_output_tokens
    assert e.cost == pytest.approx(e.tokens_in * 2 / 1e6 + e.tokens_out * 10 / 1e6, abs=1e-4)
    assert e.cost_ceiling > e.cost and 0.5 < e.cost < 10  # dollars for 1,000 emails at list prices
    half = estimate_batch(500, config)
    assert (half.tokens_in * 2, half.tokens_out * 2) == (e.tokens_in, e.tokens_out)
    dearer = estimate_batch(1000, PitchConfig(price_per_mtok_input=4, price_per_mtok_output=20))
    assert dearer.cost == pytest.approx(2 * e.cost, rel=1e-3)


def test_the_batch_result_carries_its_estimate(config, monkeypatch):
    monkeypatch.setenv("NEXTBEST_LLM", "off")
    result = _batch(_items(3), config)
    assert result.estimate == estimate_batch(3, config, channel="sms")
    assert {d.reason_code for d in result.drafts.values()} == {"LLM_OFF"}
