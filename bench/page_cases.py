"""What :mod:`bench.page_bench` does on each page, and what it needs to know before timing anything.

``CASES``: every page's script and its later views (a rerun, a new filter, another customer or pair of
runs), built per database from ``Env`` (run ids, filter values, customer ids: ``_environment``). Also the
login the pages run as (``bench_login``) and the import of the page scripts' modules before any timing
(``_preimport``). The behaviour is described in :mod:`bench.page_bench`'s docstring.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

ROOT = Path(__file__).resolve().parents[1]
BENCH_USER = "bench-admin"
DEMO_ADMIN = "admin"
CUSTOMER_SAMPLE = 12  # customers picked for the Customer 360 lookups


@dataclass
class Env:
    """What the interactions need to know about the database: run ids and filter values."""

    db: object
    workspace: object
    run_ids: list[int]  # succeeded runs, newest first
    segments: list[str] = field(default_factory=list)  # RFM segment codes of the newest run's customers
    scenarios: list[str] = field(default_factory=list)  # scenarios among the newest run's offers
    offer_segments: list[str] = field(default_factory=list)  # segment codes among its offers
    gates: list[str] = field(default_factory=list)
    customers: list[str] = field(default_factory=list)  # customer ids of the newest run, spread over it


Action = Callable[[object], dict | None]  # runs the AppTest once or more; may return extra figures


@dataclass(frozen=True)
class Case:
    """One page: its script, what a later view does, and a sentence saying so."""

    name: str
    file: str
    interaction: str
    actions: Callable[[Env, int], tuple[list[Action], str | None]]  # (one action per repeat, note)


# --- the later views -------------------------------------------------------------------------------------------

def _reruns(env: Env, repeats: int) -> tuple[list[Action], str | None]:
    return [lambda at: at.run() and None for _ in range(repeats)], None


def _cycle(values: list, repeats: int) -> list:
    return [values[i % len(values)] for i in range(repeats)] if values else []


def _filter_actions(steps: list[dict[str, list]], repeats: int, what: str) -> tuple[list[Action], str | None]:
    """One action per repeat: set the multiselects of a step (others of the step's keys cleared), run."""
    if not steps:
        return _reruns(None, repeats)[0], f"no {what} to filter by in the newest run: plain reruns timed"
    keys = sorted({k for step in steps for k in step})

    def make(step):
        def act(at):
            for key in keys:
                at.multiselect(key=key).set_value(step.get(key, []))
            at.run()
        return act
    note = None if len(steps) >= repeats else f"only {len(steps)} distinct {what}: later repeats reuse them"
    return [make(step) for step in _cycle(steps, repeats)], note


def _segments_actions(env: Env, repeats: int):
    return _filter_actions([{"seg_filter_segment": [code]} for code in env.segments], repeats, "segments")


def _offers_actions(env: Env, repeats: int):
    steps = ([{"offers_scenario": [s]} for s in env.scenarios]
             + [{"offers_segment": [g]} for g in env.offer_segments])
    return _filter_actions(steps, repeats, "scenarios or segments")


def _review_actions(env: Env, repeats: int):
    steps = [{"review_gates": [g]} for g in env.gates] + [{"review_segments": [s]} for s in env.offer_segments]
    return _filter_actions(steps, repeats, "gates or segments")


def _campaigns_actions(env: Env, repeats: int):
    return _filter_actions([{"campaign_scenario": [s]} for s in env.scenarios], repeats, "scenarios")


def _customer_actions(env: Env, repeats: int):
    """Type another customer's id, run (the search), pick it, press Show, run (the 360 view)."""
    if not env.customers:
        return _reruns(env, repeats)[0], "no customer in the newest run: plain reruns timed"

    def make(code):
        def act(at):
            started = time.perf_counter()
            at.text_input(key="cust_search").input(code).run()
            search = time.perf_counter() - started
            at.selectbox(key="cust_match").set_value(code)
            at.button(key="cust_show").click().run()
            shown = [h.value for h in at.header]
            if not any(code in text for text in shown):
                raise AssertionError(f"Customer 360 did not show {code!r} (headers: {shown})")
            return {"search_seconds": search, "show_seconds": time.perf_counter() - started - search}
        return act
    return [make(code) for code in _cycle(env.customers, repeats)], None


def _compare_actions(env: Env, repeats: int):
    ids = env.run_ids
    if len(ids) < 2:
        return (_reruns(env, repeats)[0],
                f"the workspace has {len(ids)} succeeded run(s): the page only says it needs two (reruns timed)")
    newest = ids[:4]
    pairs = [(a, b) for b in newest for a in newest if a != b]  # (before, after); the first view showed ids[1:0]
    pairs = [p for p in pairs if p != (ids[1], ids[0])] + [(ids[1], ids[0])]

    def make(pair):
        def act(at):
            at.selectbox(key="cmp_before").set_value(pair[0])
            at.selectbox(key="cmp_after").set_value(pair[1])
            at.run()
        return act
    note = None if len(pairs) >= repeats else f"{len(ids)} runs give {len(pairs)} pairs: later repeats reuse them"
    return [make(p) for p in _cycle(pairs, repeats)], note


CASES: tuple[Case, ...] = (
    Case("overview", "overview.py", "rerun", _reruns),
    Case("customers", "customers.py", "rerun (the Duplicates page: proposed merges and the merge history)",
         _reruns),
    Case("customer_360", "customer.py", "look up another customer by id: search, pick, Show", _customer_actions),
    Case("segments", "segments.py", "customer explorer: filter by another segment", _segments_actions),
    Case("offers", "offers.py", "offer list: filter by another scenario, then segment", _offers_actions),
    Case("review", "review.py", "review queue: filter by another gate, then segment", _review_actions),
    Case("compare_runs", "compare_runs.py", "choose another pair of runs", _compare_actions),
    Case("run_history", "data.py", "rerun (the Data page: row counts and the import history)", _reruns),
    Case("campaigns", "campaigns.py", "build section: filter by another scenario", _campaigns_actions),
    Case("outcomes", "outcomes.py", "rerun", _reruns),
    Case("admin", "admin.py", "rerun", _reruns),
    Case("settings", "settings.py", "rerun", _reruns),
)


# --- setting up ------------------------------------------------------------------------------------------------

def _preimport() -> float:
    """Import what the page scripts import, so that no page's first view pays for Plotly or pandas."""
    started = time.perf_counter()
    for case in CASES:
        tree = ast.parse((ROOT / "pages" / case.file).read_text(encoding="utf-8"))
        for node in tree.body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module] if isinstance(node, ast.ImportFrom) and node.module and not node.level
                     else [])
            for name in names:
                with contextlib.suppress(Exception):
                    importlib.import_module(name)
    return round(time.perf_counter() - started, 2)


def bench_login(db) -> dict:
    """The admin the pages run as (see :mod:`bench.page_bench`'s docstring): ``{"username", "token_version", "created"}``."""
    from crm_core.auth import Actor, Role
    from crm_core.auth.users import create_user, get_user
    from crm_core.errors import NotFound

    for name in (DEMO_ADMIN, BENCH_USER):
        try:
            user = get_user(db, name)
        except NotFound:
            continue
        if user.is_active and user.role == Role.ADMIN:
            return {"username": user.username, "token_version": user.token_version, "created": False}
        if name == BENCH_USER:
            raise SystemExit(f"{BENCH_USER} exists but is not an active admin ({user.role.label}, "
                             f"active={user.is_active}); reactivate it or make it admin on the Admin page.")
    user, password = create_user(db, Actor("page-bench", Role.ADMIN), BENCH_USER, Role.ADMIN,
                                 display_name="Page benchmark")
    if sys.stdin.isatty() and sys.stderr.isatty():
        print(f"page_bench: created the admin login {BENCH_USER} (password {password}; shown once only)",
              file=sys.stderr)
    return {"username": user.username, "token_version": user.token_version, "created": True}


def _environment(db, workspace, repeats: int) -> tuple[Env, dict]:
    """Runs, filter values and customer ids of ``workspace`` (outside any timing), and its size."""
    from crm_core.store.models import Customer, Offer, RunCustomer, Transaction
    from crm_core.views.offers import offer_filter_choices
    from crm_core.views.review import queue_filter_choices
    from crm_core.views.runs import succeeded_runs

    run_ids = [r.id for r in succeeded_runs(db, workspace.id)]
    env = Env(db=db, workspace=workspace, run_ids=run_ids)
    with db.read() as s:
        size = {"customers": s.scalar(select(func.count()).select_from(Customer)
                                      .where(Customer.workspace_id == workspace.id)),
                "transaction_lines": s.scalar(select(func.count()).select_from(Transaction)
                                              .where(Transaction.workspace_id == workspace.id)),
                "succeeded_runs": len(run_ids)}
    if not run_ids:
        return env, size
    newest = run_ids[0]
    offers = offer_filter_choices(db, newest)
    env.scenarios, env.offer_segments = list(offers.scenarios), list(offers.segments)
    queue = queue_filter_choices(db, newest)
    env.segments, env.gates = list(queue.segments), list(queue.gates)
    with db.read() as s:
        size["newest_run_customers"] = s.scalar(select(func.count()).select_from(RunCustomer)
                                                .where(RunCustomer.run_id == newest))
        size["newest_run_offers"] = s.scalar(select(func.count()).select_from(Offer).where(Offer.run_id == newest))
        n = size["newest_run_customers"] or 0
        for k in range(min(CUSTOMER_SAMPLE, repeats + 2, n)):  # spread over the run, not the first few ids
            code = s.scalar(select(Customer.customer_code).join(RunCustomer, RunCustomer.customer_id == Customer.id)
                            .where(RunCustomer.run_id == newest).order_by(RunCustomer.id)
                            .offset((2 * k + 1) * n // (2 * CUSTOMER_SAMPLE)).limit(1))
            if code is not None:
                env.customers.append(code)
    return env, size

