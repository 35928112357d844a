"""Pitch batch benchmark: ``python -m bench.pitch_batch [--n 1000] [--delay 1.0] [--concurrency N]``.

Starts the local stand-in of the Messages API (``tests/pitch/stub_server.py``)
answering every request after ``delay`` seconds, drafts ``n`` email pitches
with :func:`crm_core.pitch.draft_batch` and the default settings (unless
``concurrency`` is given), and prints the figures as JSON. Nothing leaves
the machine. With a fixed answer time the floor is ``n * delay /
concurrency``: 250 s for 1,000 drafts at 1 s and the default concurrency 4,
so the overhead is what the figure shows beyond it. Run from the project
root (``tests`` must be importable).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import time

from crm_core.pitch import PitchConfig, draft_batch, pitch_fields
from tests.pitch.stub_server import StubAnthropic

SCENARIOS = ("REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE")


def run(n: int = 1000, delay: float = 1.0, concurrency: int | None = None) -> dict:
    """Draft ``n`` pitches against the stub answering after ``delay`` s; the wall time and what it drafted."""
    config = PitchConfig() if concurrency is None else PitchConfig(concurrency=concurrency)
    items = [pitch_fields({"first_name": "Anna", "segment_label": "Loyal", "persona": "Weekend gift buyers",
                           "scenario": SCENARIOS[i % 5], "product_name": f"HEART LANTERN NUMBER {i}",
                           "family": "Lanterns", "price": "4.95",
                           "explanation": "35% of the customers who bought the jam jar also bought this."},
                          include_first_name=False, currency="GBP") for i in range(n)]
    before = os.environ.get("ANTHROPIC_BASE_URL")
    with StubAnthropic("answer", delay=delay) as stub:
        os.environ["ANTHROPIC_BASE_URL"] = stub.url
        try:
            started = time.perf_counter()
            result = draft_batch(items, tone="friendly", channel="email", language="en", config=config,
                                 api_key="bench-key-not-secret", environ={})
            seconds = time.perf_counter() - started
        finally:
            if before is None:
                os.environ.pop("ANTHROPIC_BASE_URL", None)
            else:
                os.environ["ANTHROPIC_BASE_URL"] = before
    sources = [d.source for d in result.drafts.values()]
    return {
        "n": n, "delay_seconds": delay, "concurrency": config.concurrency, "seconds": round(seconds, 2),
        "floor_seconds": round(n * delay / config.concurrency, 2), "drafts_per_second": round(n / seconds, 2),
        "llm_drafts": sources.count("llm"), "template_drafts": sources.count("template"),
        "max_in_flight": stub.max_in_flight, "requests": stub.requests,
        "estimate": dataclasses.asdict(result.estimate),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=None)
    args = parser.parse_args()
    print(json.dumps(run(args.n, args.delay, args.concurrency), indent=2))


if __name__ == "__main__":
    main()
