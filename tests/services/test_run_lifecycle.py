"""A run's life: dates inside the data, one run at a time per workspace, never left "running"."""

import datetime as dt
import os
import socket
import threading

import pytest
from sqlalchemy import select

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.services.pipeline import AsOfOutOfRange, run_pipeline
from crm_core.services.run_lifecycle import RunInProgress, mark_interrupted_runs
from crm_core.store.models import PipelineRun
from crm_core.views.workspaces import get_workspace

ANALYST = Actor("ann", Role.ANALYST)
FIRST, LAST = dt.date(2023, 1, 2), dt.date(2024, 3, 28)  # the sample shop's sales


@pytest.fixture
def shop(tmp_path):
    from tests.app.sample_db import build_sample_database

    from crm_core.store import Database

    url = f"sqlite:///{tmp_path / 'shop.db'}"
    build_sample_database(url, with_users=False, with_bank=False)
    db = Database.open(url)
    yield db, get_workspace(db, "shop")
    db.engine.dispose()
    Database._open.pop(url, None)


def _runs(db):
    with db.read() as s:
        return [(r.status, r.error) for r in s.scalars(select(PipelineRun).order_by(PipelineRun.id))]


@pytest.mark.parametrize("as_of", [FIRST - dt.timedelta(days=1), LAST + dt.timedelta(days=366), dt.date(9999, 12, 31)])
def test_an_as_of_date_outside_the_data_is_refused_naming_the_range(shop, as_of):
    db, ws = shop
    with pytest.raises(AsOfOutOfRange, match="sales run from 02 Jan 2023 to 28 Mar 2024"):
        run_pipeline(db, ws, ANALYST, Config(), as_of=as_of)
    assert _runs(db) == []  # nothing stored, not even a failed run


def test_an_as_of_date_within_the_margin_runs(shop):
    db, ws = shop
    run_pipeline(db, ws, ANALYST, Config(), as_of=LAST + dt.timedelta(days=365), contact_date=dt.date(2025, 1, 1))
    assert _runs(db) == [("succeeded", None)]


def test_leaving_the_page_mid_run_marks_it_stopped_not_running(shop):
    """Streamlit stops a page's script with StopException, which is a BaseException, not an Exception."""
    from streamlit.runtime.scriptrunner_utils.exceptions import StopException

    db, ws = shop

    def leave_during_offers(fraction, message):
        if "offers" in message:
            raise StopException()

    with pytest.raises(StopException):
        run_pipeline(db, ws, ANALYST, Config(), progress=leave_during_offers)
    (status, error), = _runs(db)
    assert status == "stopped" and "the page was left" in error and "offers stage" in error


def test_a_failing_run_is_failed_and_its_traceback_is_in_the_log(shop, monkeypatch):
    import crm_core.services.run_compute as run_compute
    from crm_core.errors import PipelineFailed
    from crm_core.logs import configure_file_logging, log_tail

    configure_file_logging()

    def broken(*args, **kwargs):
        raise ZeroDivisionError("a bug deep down")

    monkeypatch.setattr(run_compute, "customer_features", broken)
    with pytest.raises(PipelineFailed, match="features stage"):
        run_pipeline(db := shop[0], shop[1], ANALYST, Config())
    (status, error), = _runs(db)
    assert status == "failed" and "ZeroDivisionError: a bug deep down" in error
    tail = log_tail()
    assert "Traceback" in tail and "ZeroDivisionError: a bug deep down" in tail and "failed in its features stage" in tail


def _running(db, ws, runner):
    with db.unit_of_work() as s:
        s.add(PipelineRun(workspace_id=ws.id, run_uuid=f"u-{runner}", status="running", as_of=LAST, config_json={},
                          config_hash="c", data_hash="d", created_by="bob", runner=runner,
                          started_at=dt.datetime(2026, 12, 2, 8, 30, tzinfo=dt.timezone.utc)))


def test_a_second_run_while_one_is_in_progress_is_told_who_started_it(shop):
    db, ws = shop
    _running(db, ws, f"{socket.gethostname()}:{os.getpid()}")  # this very process: alive
    with pytest.raises(RunInProgress, match=r"already in progress \(run #1, started by bob at 02 Dec 2026 08:30 UTC\)"):
        run_pipeline(db, ws, ANALYST, Config())


def test_a_run_left_by_a_dead_process_is_interrupted_at_start_up_and_does_not_block(shop):
    db, ws = shop
    _running(db, ws, f"{socket.gethostname()}:999999")  # no such pid
    _running(db, ws, "another-host:1")  # someone else's machine: left alone
    assert mark_interrupted_runs(db) == 1
    assert [s for s, _ in _runs(db)] == ["interrupted", "running"]
    with db.unit_of_work() as s:  # the other host's run finishes
        s.execute(PipelineRun.__table__.update().where(PipelineRun.runner == "another-host:1").values(status="failed"))
    run_pipeline(db, ws, ANALYST, Config())
    assert [s for s, _ in _runs(db)][-1] == "succeeded"


def test_a_second_session_pressing_run_during_a_run_is_refused_and_one_run_is_made(shop):
    db, ws = shop
    started, attempted, outcome = threading.Event(), threading.Event(), {}

    def first_session_progress(fraction, message):
        if "features" in message:  # the first run is under way: now the second session presses Run
            started.set()
            attempted.wait(timeout=60)

    def second_session():
        started.wait(timeout=60)
        try:
            run_pipeline(db, ws, Actor("bob", Role.ANALYST), Config())
            outcome["second"] = "ran"
        except RunInProgress as exc:
            outcome["second"] = str(exc)
        finally:
            attempted.set()

    other = threading.Thread(target=second_session)
    other.start()
    run_pipeline(db, ws, ANALYST, Config(), progress=first_session_progress)
    other.join()
    assert "already in progress" in outcome["second"] and "started by ann" in outcome["second"]
    assert [s for s, _ in _runs(db)] == ["succeeded"]


def test_the_lines_are_let_go_before_the_engine_builds_its_models(shop, monkeypatch):
    """At ten million lines the lines take gigabytes: the run frees them once the engine has coded them,
    before its histories and models (the offer stage's peak) and before the offers are scored; the
    customers as of the as-of date are let go once clustered."""
    import gc
    import weakref

    import crm_core.recommend.engine as engine
    from crm_core.store import frames

    db, ws = shop
    lines, masters, alive = [], [], []
    read, read_at = frames.read_transactions, frames.customers_as_of
    history_as_of, score = engine.history_as_of, engine.PreparedEngine.offers

    def reading(*args, **kwargs):
        tx = read(*args, **kwargs)
        lines.append(weakref.ref(tx))
        return tx

    def reading_customers(*args, **kwargs):
        at_dates = read_at(*args, **kwargs)
        masters.append(weakref.ref(at_dates[0]))  # as of the as-of date: only the clustering reads it
        return at_dates

    def alive_then(step, function):
        def call(*args, **kwargs):
            gc.collect()
            alive.append((step, lines[0]() is not None or (step == "offers" and masters[0]() is not None)))
            return function(*args, **kwargs)
        return call

    monkeypatch.setattr(frames, "read_transactions", reading)
    monkeypatch.setattr(frames, "customers_as_of", reading_customers)
    monkeypatch.setattr(engine, "history_as_of", alive_then("history", history_as_of))
    monkeypatch.setattr(engine.PreparedEngine, "offers", alive_then("offers", score))
    result = run_pipeline(db, ws, ANALYST, Config(), contact_date=dt.date(2024, 4, 1))
    assert len(lines) == len(masters) == 1 and {step for step, _ in alive} == {"history", "offers"}
    assert not any(is_alive for _, is_alive in alive), alive
    assert len(result.offers) and result.meta["counts"]["transactions"] > 0


def test_the_lines_names_and_categories_are_let_go_once_the_catalog_has_them(shop, monkeypatch):
    """The names and categories of ten million lines take ~400 MB, and only the catalog reads them:
    they are deleted from the lines before the lines are coded, at the offer stage's first peak."""
    import crm_core.recommend.engine as engine

    db, ws = shop
    coded_columns, catalogs = [], []
    code_lines, build_catalog = engine.code_lines, engine.build_catalog

    def coding(tx, *args, **kwargs):
        coded_columns.append(set(tx.columns))
        return code_lines(tx, *args, **kwargs)

    def cataloguing(tx, *args, **kwargs):
        catalogs.append(build_catalog(tx, *args, **kwargs))
        return catalogs[-1]

    monkeypatch.setattr(engine, "code_lines", coding)
    monkeypatch.setattr(engine, "build_catalog", cataloguing)
    result = run_pipeline(db, ws, ANALYST, Config(), contact_date=dt.date(2024, 4, 1))
    assert len(coded_columns) == len(catalogs) == 1
    assert {"customer_id", "product_id", "invoice_date"} <= coded_columns[0]
    assert not coded_columns[0] & {"product_name", "category"}
    assert catalogs[0]["name"].notna().all() and len(result.offers)
