"""Pitch batch benchmark: ``python -m bench.pitch_batch [--n 1000] [--delay 1.0] [--concurrency N] [--saved]``.

Starts the local stand-in of the Messages API (``tests/pitch/stub_server.py``)
answering every request after ``delay`` seconds and drafts ``n`` email
pitches with the default settings (unless ``concurrency`` is given), then
prints the figures as JSON. Nothing leaves the machine.

- default: :func:`crm_core.pitch.draft_batch` alone (drafting, no database);
- ``--saved``: the path the pages and ``python -m crm_core pitch`` take,
  :func:`crm_core.pitch.service.draft_offers_batch` over the pending offers of
  the demo shop (loaded into a temporary SQLite file first, not timed): each
  draft is saved as a pitch version with its audit event and re-gates its
  offer as it completes; ``save_seconds`` is the time spent saving.

With a fixed answer time the floor is ``n * delay / concurrency``: 200 s for
1,000 drafts at 1 s and the default concurrency 5, so the overhead is what the
figure shows beyond it. Measured on the 2-core machine (2026-12-02): 206 s
drafting alone (concurrency 4 took 255 s); 210 s drafted and saved, saves of
54-85 ms each (most of it re-gating the offer), overlapped with the drafts in
flight (219 s while the next drafts waited for each save).
Run from the project root (``tests`` must be importable).
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from crm_core.pitch import PitchConfig, draft_batch, pitch_fields
from tests.pitch.stub_server import StubAnthropic

SCENARIOS = ("REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE")
BENCH_KEY = "bench-key-not-secret"


def run(n: int = 1000, delay: float = 1.0, concurrency: int | None = None) -> dict:
    """Draft ``n`` pitches against the stub answering after ``delay`` s; the wall time and what it drafted."""
    config = PitchConfig() if concurrency is None else PitchConfig(concurrency=concurrency)
    items = [pitch_fields({"first_name": "Anna", "segment_label": "Loyal", "persona": "Weekend gift buyers",
                           "scenario": SCENARIOS[i % 5], "product_name": f"HEART LANTERN NUMBER {i}",
                           "family": "Lanterns", "price": "4.95",
                           "explanation": "35% of the customers who bought the jam jar also bought this."},
                          include_first_name=False, currency="GBP") for i in range(n)]
    with _stub(delay) as stub:
        started = time.perf_counter()
        result = draft_batch(items, tone="friendly", channel="email", language="en", config=config,
                             api_key=BENCH_KEY, environ={})
        seconds = time.perf_counter() - started
    sources = [d.source for d in result.drafts.values()]
    return {
        "path": "draft_batch", "n": n, "delay_seconds": delay, "concurrency": config.concurrency,
        "seconds": round(seconds, 2), "floor_seconds": round(n * delay / config.concurrency, 2),
        "drafts_per_second": round(n / seconds, 2), "llm_drafts": sources.count("llm"),
        "template_drafts": sources.count("template"), "max_in_flight": stub.max_in_flight,
        "requests": stub.requests, "estimate": dataclasses.asdict(result.estimate),
    }


def run_saved(n: int = 1000, delay: float = 1.0, concurrency: int | None = None) -> dict:
    """Draft and save pitches for ``n`` pending offers of the demo shop (a temporary database)."""
    from crm_core.auth import SYSTEM_CLI
    from crm_core.demo.load import load_demo_worlds
    from crm_core.pitch import service
    from crm_core.store import Database
    from crm_core.views.pitches import newest_pitches, run_offer_ids
    from crm_core.views.runs import latest_run
    from crm_core.views.workspaces import list_workspaces

    config = PitchConfig() if concurrency is None else PitchConfig(concurrency=concurrency)
    folder = Path(tempfile.mkdtemp(prefix="nextbest-pitch-bench-"))
    os.environ.setdefault("NEXTBEST_AUDIT_KEY_FILE", str(folder / "audit_key"))  # never the developer's key
    url = f"sqlite:///{folder / 'bench.db'}"
    try:
        db = Database.open(url)
        db.upgrade()
        load_demo_worlds(db, progress=lambda message: None)
        shop = min(list_workspaces(db), key=lambda w: w.id)
        offer_ids = run_offer_ids(db, latest_run(db, shop.id).id, state="pending", limit=n)
        saving, original = [], service._save

        def timed_save(*args, **kwargs):
            started = time.perf_counter()
            try:
                return original(*args, **kwargs)
            finally:
                saving.append(time.perf_counter() - started)

        service._save = timed_save
        try:
            with _stub(delay) as stub:
                started = time.perf_counter()
                summary = service.draft_offers_batch(db, SYSTEM_CLI, offer_ids, tone="friendly", channel="email",
                                                     config=config, api_key=BENCH_KEY)
                seconds = time.perf_counter() - started
        finally:
            service._save = original
        stored = len(newest_pitches(db, offer_ids))
        db.engine.dispose()
    finally:
        Database._open.pop(url, None)
        shutil.rmtree(folder, ignore_errors=True)
    return {
        "path": "draft_offers_batch (saved)", "n": len(offer_ids), "delay_seconds": delay,
        "concurrency": config.concurrency, "seconds": round(seconds, 2),
        "floor_seconds": round(len(offer_ids) * delay / config.concurrency, 2),
        "drafts_per_second": round(len(offer_ids) / seconds, 2), "llm_drafts": summary.llm,
        "template_drafts": summary.template, "pitches_stored": stored, "save_seconds": round(sum(saving), 2),
        "save_ms_mean": round(1000 * sum(saving) / max(len(saving), 1), 1),
        "save_ms_max": round(1000 * max(saving, default=0), 1), "max_in_flight": stub.max_in_flight,
        "requests": stub.requests,
    }


@contextlib.contextmanager
def _stub(delay: float):
    """The stub answering after ``delay`` s, with ANTHROPIC_BASE_URL pointing at it and NEXTBEST_LLM unset."""
    saved = {name: os.environ.get(name) for name in ("ANTHROPIC_BASE_URL", "NEXTBEST_LLM")}
    with StubAnthropic("answer", delay=delay) as stub:
        os.environ["ANTHROPIC_BASE_URL"] = stub.url
        os.environ.pop("NEXTBEST_LLM", None)
        try:
            yield stub
        finally:
            for name, value in saved.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--delay", type=float, default=1.0)
    parser.add_argument("--concurrency", type=int, default=None)
    parser.add_argument("--saved", action="store_true", help="the saved path: draft_offers_batch on the demo shop")
    args = parser.parse_args()
    figures = (run_saved if args.saved else run)(args.n, args.delay, args.concurrency)
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
