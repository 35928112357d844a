"""Review benchmarks: ``python -m bench.review_bench [--size 1m] [--offers 1000] [--repeats 3]``.

Two figures of the issue "Audit gate and the managers' review" (goals, not tests):

- **bulk decision**: ``decide_offers`` approving ``offers`` pending offers in one call
  (goal <= 2 s for 1,000), on a fresh SQLite file and, when the size's database
  exists, on a copy of it (its real offers: the indexes of a big table to update);
- **queue first page** on the size's database (``bench/data/<size>.db``, built by
  ``python -m bench.run --sizes <size> --stages ''``; goal <= 1.5 s at 1M customers):
  ``first_visit`` is a first visit in a fresh process (filter choices + counters + page),
  ``click_first_page`` what every later click costs (counters + page, with the product
  families earlier pages worked out, as the page keeps them), plus a filtered page, a
  middle page (its first run works out its products' families), the audit-score order,
  "all matching the filter" and the family filter (whose first use works out every
  offered product's family).

Opening the size's database upgrades it first (revision 0007 builds the queue's
indexes once; reported as ``upgrade_seconds``). Prints the figures as JSON. Run
from the project root (``tests`` must be importable for the offer builder).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from bench.sizes import DEFAULT_DATA_DIR
from crm_core.auth import Actor, Role
from crm_core.store import Database
from crm_core.store.models import Offer
from crm_core.views.review import (
    QueueFilter,
    matching_offer_versions,
    queue_counts,
    queue_families,
    queue_filter_choices,
    queue_page,
)
from crm_core.views.runs import latest_run
from crm_core.views.workspaces import list_workspaces
from crm_core.workflow import decide_offers

DECISION_GOAL_SECONDS = 2.0
PAGE_GOAL_SECONDS = 1.5
MANAGER = Actor("bench-manager", Role.MANAGER)


def _timed(fn, repeats: int) -> tuple[dict, object]:
    """``{"seconds": median, "runs": [...]}`` of ``repeats`` calls, and the last result."""
    runs, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = fn()
        runs.append(round(time.perf_counter() - started, 4))
    return {"seconds": statistics.median(runs), "runs": runs}, result


def bench_decision_fresh(offers: int, repeats: int) -> dict:
    """Approve ``offers`` pending offers of a fresh SQLite file in one call, ``repeats`` times (new offers each)."""
    from tests.workflow.review_builders import insert_pending_offers

    runs = []
    with tempfile.TemporaryDirectory() as tmp:
        db = Database.open(f"sqlite:///{Path(tmp) / 'decide.db'}")
        db.upgrade()
        for _ in range(repeats):
            ids = insert_pending_offers(db, offers, submitted_by="bench-analyst")
            started = time.perf_counter()
            outcome = decide_offers(db, MANAGER, ids, "approved", reason="bench")
            runs.append(round(time.perf_counter() - started, 4))
            assert len(outcome.decided) == offers, outcome.summary()
        db.engine.dispose()
        Database._open.pop(db.url, None)
    return {"offers": offers, "seconds": statistics.median(runs), "runs": runs, "goal_seconds": DECISION_GOAL_SECONDS,
            "met": statistics.median(runs) <= DECISION_GOAL_SECONDS}


def bench_decision_on_copy(path: Path, offers: int, repeats: int) -> dict:
    """Approve ``offers`` of the run's pending offers on a copy of a benchmark database, ``repeats`` batches."""
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        copy = Path(tmp) / "copy.db"
        started = time.perf_counter()
        shutil.copyfile(path, copy)
        copy_seconds = round(time.perf_counter() - started, 1)
        db = Database.open(f"sqlite:///{copy}")
        db.upgrade()
        with db.read() as s:
            ids = s.scalars(select(Offer.id).where(Offer.state == "pending").order_by(Offer.id)
                            .limit(offers * repeats)).all()
        runs = []
        for k in range(repeats):
            batch = ids[k * offers:(k + 1) * offers]
            started = time.perf_counter()
            outcome = decide_offers(db, MANAGER, batch, "approved", reason="bench")
            runs.append(round(time.perf_counter() - started, 4))
            assert len(outcome.decided) + len(outcome.skipped) == len(batch)
        db.engine.dispose()
        Database._open.pop(db.url, None)
    return {"offers": offers, "seconds": statistics.median(runs), "runs": runs, "copy_seconds": copy_seconds,
            "goal_seconds": DECISION_GOAL_SECONDS, "met": statistics.median(runs) <= DECISION_GOAL_SECONDS}


def bench_queue(path: Path, repeats: int) -> dict:
    """Time the queue's first page and its usual clicks on the benchmark database at ``path``."""
    db = Database.open(f"sqlite:///{path}")
    started = time.perf_counter()
    db.upgrade()
    upgrade_seconds = round(time.perf_counter() - started, 2)
    workspace = list_workspaces(db)[0]
    run = latest_run(db, workspace.id)
    started = time.perf_counter()  # a first visit: nothing is known yet
    choices = queue_filter_choices(db, run.id)
    choices_seconds = time.perf_counter() - started
    counts = queue_counts(db, workspace.id, run.id)
    first = queue_page(db, workspace.id, QueueFilter(run_id=run.id))
    cold = round(time.perf_counter() - started, 4)

    known = {"families": first.families}  # as the page keeps the families its pages worked out

    def click(filt=None, page=0):
        queue_counts(db, workspace.id, run.id)
        shown = queue_page(db, workspace.id, filt or QueueFilter(run_id=run.id), page=page,
                           known_families=known["families"])
        known["families"] = known["families"].combine_first(shown.families)
        return shown

    filtered = QueueFilter(run_id=run.id, gates=("REVIEW",), segments=choices.segments[:1], flags=("THIN_DATA",))
    click_time, _ = _timed(click, repeats)
    filtered_time, filtered_page = _timed(lambda: click(filtered), repeats)
    deep_time, _ = _timed(lambda: click(page=first.pages // 2), repeats)
    audit_time, _ = _timed(lambda: queue_page(db, workspace.id, QueueFilter(run_id=run.id), order="audit_score"),
                           repeats)
    started = time.perf_counter()  # the family filter's first use: every offered product's family
    families = queue_families(db, run.id)
    families_seconds = round(time.perf_counter() - started, 2)
    by_family = QueueFilter(run_id=run.id, families=(min(families.unique()),))
    family_time, family_page = _timed(lambda: queue_page(db, workspace.id, by_family, families=families), repeats)
    blocked = QueueFilter(run_id=run.id, gates=("BLOCK",))
    matching_time, matching = _timed(lambda: matching_offer_versions(db, workspace.id, blocked), repeats)
    db.engine.dispose()
    Database._open.pop(db.url, None)
    return {
        "database": str(path), "upgrade_seconds": upgrade_seconds, "offers": sum(counts.by_state.values()),
        "pending": counts.by_state["pending"], "matching_first_page": first.total,
        "first_visit": {"seconds": cold, "of_which_filter_choices": round(choices_seconds, 4)},
        "click_first_page": click_time, "filtered_page": {**filtered_time, "matching": filtered_page.total},
        "middle_page": {**deep_time, "page": first.pages // 2}, "audit_score_order": audit_time,
        "all_matching_blocked": {**matching_time, "offers": len(matching)},
        "family_filter": {"first_use_seconds": families_seconds, "page": family_time, "matching": family_page.total},
        "goal_seconds": PAGE_GOAL_SECONDS, "met": click_time["seconds"] <= PAGE_GOAL_SECONDS,
    }


def run(size: str = "1m", *, offers: int = 1_000, repeats: int = 3, data_dir: Path = DEFAULT_DATA_DIR) -> dict:
    """Both benchmarks; the queue and the on-copy decision only when ``<data_dir>/<size>.db`` exists.

    Returns:
        ``{"decision_fresh": {...}, "decision_on_copy": {...}, "queue": {...}}`` (seconds are medians
        of ``repeats``; a missing database is reported with how to build it).
    """
    path = Path(data_dir) / f"{size}.db"
    result = {"size": size, "decision_fresh": bench_decision_fresh(offers, repeats)}
    if not path.exists():
        missing = {"status": "not run",
                   "reason": f"{path} does not exist: python -m bench.run --sizes {size} --stages ''"}
        return {**result, "decision_on_copy": missing, "queue": missing}
    result["queue"] = bench_queue(path, repeats)
    result["decision_on_copy"] = bench_decision_on_copy(path, offers, repeats)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="1m", help="benchmark size whose database to use (small, 100k, 1m)")
    parser.add_argument("--offers", type=int, default=1_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    args = parser.parse_args()
    print(json.dumps(run(args.size, offers=args.offers, repeats=args.repeats, data_dir=args.data_dir), indent=2))


if __name__ == "__main__":
    main()
