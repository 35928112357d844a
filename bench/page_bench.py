"""Page benchmark: ``python -m bench.page_bench --db sqlite:///PATH [--workspace NAME] [--repeats 3] [--json OUT]``.

How long each page of the app takes to answer on a given database (issue 14, point 4; goal <= 1.5 s
"after the first view"). Every page is the real script under ``pages/``, run with
``streamlit.testing.v1.AppTest`` in this process, logged in as an admin (an admin may open every page,
the manager-only Review queue included). Per page:

- ``first_view_seconds``: the page's first run in this process (its ``st.cache_data`` entries are empty;
  Python modules the pages import are imported before any timing, see ``import_seconds``);
- ``runs``: ``--repeats`` later views or interactions in the same session, each timed on its own, and
  ``seconds``, their median; ``met`` is ``seconds <= goal_seconds`` (1.5) with no failure.

The later views are (see ``CASES``): a plain rerun (the user comes back or clicks something cheap) for
Overview, Duplicates (``pages/customers.py``), Data (the import and run history), Outcomes, Admin and
Settings; a new filter per repeat for Segments (the customer explorer's segment filter), Offers (a
scenario, then a segment), Review queue (a gate, then a segment) and Campaigns (a scenario); Customer 360
is a lookup of another customer each time: type its id in the search, run, pick it and press *Show*
(both script runs are in one figure, and split in ``search_seconds`` and ``show_seconds``); Compare runs
picks a pair of runs each time (with one run only the page says it needs two: ``note``). Filters cycle
through values not used before on that page where the run has enough of them, so the pages' own caches
are not hit by a repeated choice.

A page that shows an exception (``at.exception``), refuses the login, or cannot be driven (a widget
missing, an AppTest timeout) is recorded as ``failure`` with the message; the benchmark goes on with the
next page. Messages the page shows with ``st.error`` are listed in ``errors``.

**Logging in.** As the AppTest suites do (tests/apptest_support.py): the session state holds a login
(``authentication_status``, ``username``, ``roles`` and the user's current token version), and the
page's guard checks it against the ``users`` table; no password is checked and nothing is written by
logging in. ``NEXTBEST_DATABASE_URL`` points at ``--db``; the credentials and cookie key files point
into a temporary folder (the pages never need them); ``NEXTBEST_LLM=off`` (no pitch is drafted anyway).
The user is the demo login ``admin`` when the database has it (active, role admin); else ``bench-admin``
when it exists; else ``bench-admin`` is **created** with ``crm_core.auth.users.create_user`` (role admin,
a random password that is not kept: it is printed once only when run at a terminal; the audit log records
``user.created`` by ``page-bench``). That is the one lasting change the benchmark makes to a database
besides what opening it normally does (``Database.upgrade``, timed as ``upgrade_seconds``). Note that on a
database with no user at all (one built by ``python -m crm_core run``, like the bench databases) the app's
first start creates its demo logins only while the users table is empty, so it will not create them after
this benchmark has added ``bench-admin``.

Run from the project root. Prints the figures as JSON (and writes them to ``--json OUT``). Not a test.
"""

from __future__ import annotations

import argparse
import ast
import contextlib
import datetime as dt
import importlib
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
GOAL_SECONDS = 1.5
DEFAULT_TIMEOUT = 600.0
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
    """The admin the pages run as (see the module docstring): ``{"username", "token_version", "created"}``."""
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


# --- running a page --------------------------------------------------------------------------------------------

def _app_test(case: Case, login: dict, workspace: str, timeout: float):
    from streamlit.testing.v1 import AppTest

    from app.shell import SESSION_TOKEN_VERSION

    at = AppTest.from_file(str(ROOT / "pages" / case.file), default_timeout=timeout)
    at.session_state["workspace"] = workspace
    at.session_state["authentication_status"] = True
    at.session_state["username"] = login["username"]
    at.session_state["name"] = login["username"]
    at.session_state["roles"] = ["admin"]
    at.session_state["logout"] = False
    at.session_state[SESSION_TOKEN_VERSION] = login["token_version"]
    return at


def _problem(at) -> str | None:
    """What makes a script run a failure: an exception shown, or the login refused."""
    if len(at.exception):
        first = at.exception[0]
        trace = [line for line in first.stack_trace if line.strip()][-3:]
        return f"exception: {first.proto.message}" + (f" (at {' / '.join(t.strip() for t in trace)})" if trace else "")
    for error in at.error:
        if "not logged in" in error.value or "This page needs the" in error.value:
            return f"refused: {error.value}"
    return None


def bench_page(case: Case, env: Env, login: dict, repeats: int, timeout: float) -> dict:
    """First view and ``repeats`` later views of one page (see the module docstring)."""
    result = {"page": f"pages/{case.file}", "interaction": case.interaction}
    actions, note = case.actions(env, repeats)
    if note:
        result["note"] = note
    runs, extra = [], {}
    try:
        at = _app_test(case, login, env.workspace.name, timeout)
        started = time.perf_counter()
        at.run()
        result["first_view_seconds"] = round(time.perf_counter() - started, 3)
        problem = _problem(at)
        for action in actions:
            if problem:
                break
            started = time.perf_counter()
            figures = action(at)
            runs.append(round(time.perf_counter() - started, 3))
            for k, v in (figures or {}).items():
                extra.setdefault(k, []).append(round(v, 3))
            problem = _problem(at)
        errors = [e.value[:300] for e in at.error]
    except Exception as exc:  # noqa: BLE001 (a widget not found, an AppTest timeout...: the page's failure, not the bench's)
        problem = f"{type(exc).__name__}: {exc}"[:600]
        errors = []
        result["traceback"] = traceback.format_exc(limit=4)[-1500:]
    seconds = round(statistics.median(runs), 3) if runs else None
    result.update({"seconds": seconds, "runs": runs,
                   **{k: round(statistics.median(v), 3) for k, v in extra.items()},
                   "goal_seconds": GOAL_SECONDS, "met": problem is None and seconds is not None
                   and seconds <= GOAL_SECONDS})
    if errors:
        result["errors"] = errors[:5]
    if problem:
        result["failure"] = problem
    return result


@contextlib.contextmanager
def _app_environment(url: str):
    """The app's environment variables for the pages, restored afterwards."""
    from crm_core.auth.bootstrap import ENV_CREDENTIALS_FILE
    from crm_core.keys import ENV_COOKIE_KEY_FILE
    from crm_core.store.db import ENV_URL

    saved = {k: os.environ.get(k) for k in (ENV_URL, ENV_CREDENTIALS_FILE, ENV_COOKIE_KEY_FILE, "NEXTBEST_LLM")}
    with tempfile.TemporaryDirectory(prefix="nextbest-page-bench-") as tmp:
        os.environ.update({ENV_URL: url, ENV_CREDENTIALS_FILE: str(Path(tmp) / "demo_credentials.txt"),
                           ENV_COOKIE_KEY_FILE: str(Path(tmp) / "secrets" / "cookie_key"), "NEXTBEST_LLM": "off"})
        try:
            yield
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v


def run(url: str, *, workspace: str | None = None, repeats: int = 3, pages: list[str] | None = None,
        timeout: float = DEFAULT_TIMEOUT) -> dict:
    """Every page of ``CASES`` (or those named in ``pages``) on the database at ``url``.

    Returns:
        ``{"database", "workspace", "size", "login", "upgrade_seconds", "import_seconds", "pages": {name:
        {first_view_seconds, seconds, runs, goal_seconds, met, ...}}, "met_all", ...}``.
    """
    from crm_core.store import Database
    from crm_core.views.workspaces import (
        default_workspace,
        get_workspace,
        list_workspaces,
    )

    if str(url).startswith("sqlite:///"):
        path = Path(str(url).removeprefix("sqlite:///"))
        if not path.exists():
            raise SystemExit(f"{path} does not exist (the benchmark never creates a database)")
    wanted = [c for c in CASES if not pages or c.name in pages]
    unknown = set(pages or ()) - {c.name for c in CASES}
    if unknown:
        raise SystemExit(f"unknown page(s) {sorted(unknown)}; known: {', '.join(c.name for c in CASES)}")
    from streamlit import config as streamlit_config

    # The app's .streamlit/config.toml hides exception details from users; the benchmark reports them.
    streamlit_config.set_option("client.showErrorDetails", "full")
    started_all = time.perf_counter()
    with _app_environment(url):
        db = Database.open(url)
        started = time.perf_counter()
        db.upgrade()
        upgrade_seconds = round(time.perf_counter() - started, 2)
        ws = get_workspace(db, workspace) if workspace else default_workspace(list_workspaces(db))
        if ws is None:
            raise SystemExit("the database has no workspace")
        login = bench_login(db)
        env, size = _environment(db, ws, repeats)
        import_seconds = _preimport()
        results = {}
        for case in wanted:
            results[case.name] = bench_page(case, env, login, repeats, timeout)
            print(f"page_bench: {case.name}: first view {results[case.name].get('first_view_seconds')} s, "
                  f"later {results[case.name]['seconds']} s" + (f" FAILED {results[case.name]['failure'][:200]}"
                                                                if "failure" in results[case.name] else ""),
                  file=sys.stderr, flush=True)
        db.engine.dispose()
        Database._open.pop(db.url, None)
    return {
        "database": make_url(url).render_as_string(hide_password=True), "workspace": ws.name, "size": size,
        "login": {"username": login["username"], "created": login["created"]},
        "measured_at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": {"cores": os.cpu_count(), "load_average": list(os.getloadavg())},
        "repeats": repeats, "upgrade_seconds": upgrade_seconds, "import_seconds": import_seconds,
        "goal_seconds": GOAL_SECONDS, "pages": results,
        "met_all": all(r["met"] for r in results.values()),
        "failed": [name for name, r in results.items() if "failure" in r],
        "total_seconds": round(time.perf_counter() - started_all, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", required=True, help="SQLAlchemy URL of the database, e.g. sqlite:///bench/data/1m.db")
    parser.add_argument("--workspace", help="workspace name (default: the app's default workspace)")
    parser.add_argument("--repeats", type=int, default=3, help="later views per page (the median is reported)")
    parser.add_argument("--pages", help=f"comma-separated subset of: {', '.join(c.name for c in CASES)}")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT, help="AppTest timeout per script run (s)")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args(argv)
    if args.repeats < 1:
        parser.error("--repeats must be at least 1")
    pages = [p.strip() for p in args.pages.split(",") if p.strip()] if args.pages else None
    # AppTest's session state is written from this thread, outside a script run: Streamlit warns each time.
    logging.getLogger("streamlit.runtime.scriptrunner_utils.script_run_context").addFilter(
        lambda record: "missing ScriptRunContext" not in record.getMessage())
    result = run(args.db, workspace=args.workspace, repeats=args.repeats, pages=pages, timeout=args.timeout)
    text = json.dumps(result, indent=2, default=str)
    print(text)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(text + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
