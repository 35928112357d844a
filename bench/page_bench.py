"""Page benchmark: ``python -m bench.page_bench --db sqlite:///PATH [--workspace NAME] [--repeats 3] [--json OUT]``.

How long each page of the app takes to answer on a given database (issue 14, point 4; goal <= 1.5 s
"after the first view"). Every page is the real script under ``pages/``, run with
``streamlit.testing.v1.AppTest`` in this process, logged in as an admin (an admin may open every page,
the manager-only Review queue included). Per page:

- ``first_view_seconds``: the page's first run in this process (its ``st.cache_data`` entries are empty;
  Python modules the pages import are imported before any timing, see ``import_seconds``);
- ``runs``: ``--repeats`` later views or interactions in the same session, each timed on its own, and
  ``seconds``, their median; ``met`` is ``seconds <= goal_seconds`` (1.5) with no failure.

The later views are (see ``CASES`` in :mod:`bench.page_cases`): a plain rerun (the user comes back or
clicks something cheap) for Overview, Duplicates (``pages/customers.py``), Data (the import and run
history), Outcomes, Admin and Settings; a new filter per repeat for Segments (the customer explorer's
segment filter), Offers (a scenario, then a segment), Review queue (a gate, then a segment) and Campaigns
(a scenario); Customer 360 is a lookup of another customer each time: type its id in the search, run, pick
it and press *Show* (both script runs are in one figure, and split in ``search_seconds`` and
``show_seconds``); Compare runs picks a pair of runs each time (with one run only the page says it needs
two: ``note``). Filters cycle through values not used before on that page where the run has enough of them,
so the pages' own caches are not hit by a repeated choice.

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
import contextlib
import datetime as dt
import json
import logging
import os
import statistics
import sys
import tempfile
import time
import traceback
from pathlib import Path

from sqlalchemy.engine import make_url

from bench.page_cases import (
    CASES,
    ROOT,
    Case,
    Env,
    _environment,
    _preimport,
    bench_login,
)

GOAL_SECONDS = 1.5
DEFAULT_TIMEOUT = 600.0


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
