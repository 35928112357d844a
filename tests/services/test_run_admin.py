"""Deleting a run: everything it computed goes, unless its offers were acted on; the page and the rule agree."""

from __future__ import annotations

import time

import pandas as pd
import pytest
from sqlalchemy import func, select, text, update

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.errors import NotFound, PermissionDenied, ValidationError
from crm_core.services.pipeline import run_pipeline
from crm_core.services.run_admin import delete_run
from crm_core.store import Database
from crm_core.store.models import AuditEvent, Offer, Outcome, Pitch, PipelineRun, RunCluster, RunCustomer
from crm_core.views.workspace_admin import run_table
from crm_core.views.workspaces import get_workspace
from crm_core.workflow import create_campaign
from crm_core.workflow.decisions import decide_offers, reopen_offers
from tests.workflow.gated_sample import build_gated, gated  # noqa: F401 (fixture)

MANAGER, ANALYST = Actor("max", Role.MANAGER), Actor("ann", Role.ANALYST)


def _rows(db, run_id: int) -> dict[str, int]:
    with db.read() as s:
        offers = select(Offer.id).where(Offer.run_id == run_id)
        return {"runs": s.scalar(select(func.count()).where(PipelineRun.id == run_id)),
                "run_customers": s.scalar(select(func.count()).where(RunCustomer.run_id == run_id)),
                "run_clusters": s.scalar(select(func.count()).where(RunCluster.run_id == run_id)),
                "offers": s.scalar(select(func.count()).where(Offer.run_id == run_id)),
                "pitches": s.scalar(select(func.count()).where(Pitch.offer_id.in_(offers)))}


def _pending(db, run_id: int, n: int = 2) -> list[int]:
    with db.read() as s:
        return list(s.scalars(select(Offer.id).where(Offer.run_id == run_id, Offer.state == "pending",
                                                     Offer.gate == "PASS").order_by(Offer.id).limit(n)))


def _add_pitch(db, offer_id: int, workspace_id: int) -> None:
    with db.unit_of_work() as s:
        s.add(Pitch(workspace_id=workspace_id, offer_id=offer_id, text="Hello", source="template", created_by="ann"))


@pytest.fixture
def two_runs(gated):  # noqa: F811
    """``(db, shop id, the gated run, a second run)``."""
    db, shop_id, run_id = gated
    second = run_pipeline(db, get_workspace(db, "shop"), ANALYST, Config()).run_id
    return db, shop_id, run_id, second


def test_a_run_nobody_acted_on_goes_with_everything_it_computed(two_runs, admin):
    db, shop_id, first, second = two_runs
    a, b = _pending(db, first)
    _add_pitch(db, a, shop_id)
    with db.unit_of_work() as s:  # an analyst's edit keeps the engine's original: a row pointing at a row
        s.execute(update(Offer).where(Offer.id == b).values(original_offer_id=a))
    kept, doomed = _rows(db, second), _rows(db, first)
    assert doomed["offers"] > 0 and doomed["pitches"] == 1
    counts = delete_run(db, admin, first, reason="made with the wrong settings")
    assert _rows(db, first) == {"runs": 0, "run_customers": 0, "run_clusters": 0, "offers": 0, "pitches": 0}
    assert _rows(db, second) == kept
    assert counts == {"pipeline_runs": 1, "run_customers": doomed["run_customers"], "offers": doomed["offers"],
                      "pitches": 1, "run_clusters": doomed["run_clusters"]}
    with db.read() as s:
        assert s.execute(text("PRAGMA foreign_key_check")).all() == []
        event = s.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (event.action, event.entity_id, event.actor, event.reason) == \
            ("run.deleted", str(first), "ada", "made with the wrong settings")
        assert event.before_json["counts"]["offers"] == doomed["offers"] and event.workspace_id == shop_id


def _approve(db, run_id):
    decide_offers(db, MANAGER, _pending(db, run_id, 1), "approved")


def _undo(db, run_id):
    offer = _pending(db, run_id, 1)
    decide_offers(db, MANAGER, offer, "rejected", reason="not now")
    reopen_offers(db, MANAGER, offer, reason="changed my mind")


def _campaign(db, run_id):
    offers = _pending(db, run_id, 3)
    decide_offers(db, MANAGER, offers, "approved")
    create_campaign(db, ANALYST, "Spring", offers)


def _state(state):
    def plant(db, run_id):
        with db.unit_of_work() as s:
            s.execute(update(Offer).where(Offer.id == _pending(db, run_id, 1)[0]).values(state=state))
    return plant


def _outcome(db, run_id):
    offer = _pending(db, run_id, 1)[0]
    with db.unit_of_work() as s:
        row = s.get(Offer, offer)
        s.add(Outcome(workspace_id=row.workspace_id, customer_id=row.customer_id, offer_id=offer, converted=True))


def _running(db, run_id):
    with db.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(status="running"))


@pytest.mark.parametrize("act, said", [
    (_approve, "1 of its offers were decided or exported"),
    (_state("rejected"), "1 of its offers were decided or exported"),
    (_state("flagged"), "1 of its offers were decided or exported"),
    (_state("exported"), "1 of its offers were decided or exported"),
    (_undo, "1 of its offers had a decision that was undone"),
    (_campaign, "it is used by campaign #1"),
    (_outcome, "1 outcomes are linked to its offers"),
    (_running, "it is still running"),
])
def test_a_run_whose_offers_were_acted_on_stays(two_runs, admin, act, said):
    db, _, first, _ = two_runs
    act(db, first)
    before = _rows(db, first)
    with pytest.raises(ValidationError, match=f"Run #{first} cannot be deleted: .*{said}"):
        delete_run(db, admin, first)
    assert _rows(db, first) == before
    table = run_table(db, two_runs[1]).set_index("id")
    assert not table.loc[first, "deletable"] and said in table.loc[first, "why_not"]
    assert table.loc[two_runs[3], "deletable"] and pd.isna(table.loc[two_runs[3], "why_not"])


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.MANAGER])
def test_only_an_admin_deletes_a_run(two_runs, role):
    db, _, first, _ = two_runs
    with pytest.raises(PermissionDenied):
        delete_run(db, Actor("someone", role), first)
    assert _rows(db, first)["runs"] == 1


def test_an_unknown_run_is_named(two_runs, admin):
    with pytest.raises(NotFound, match="no pipeline run #999"):
        delete_run(two_runs[0], admin, 999)


def test_deleting_a_big_run_takes_time_in_proportion_to_its_offers(db, admin):
    """SQLite's own cascade looks through every offer once per deleted offer (8,000 offers: 18 s)."""
    n = 20_000
    with db.unit_of_work() as s:
        raw = s.connection().connection.driver_connection
        raw.execute("INSERT INTO workspaces(name, currency, currency_decimals, timezone, kind, policy_name, language, "
                    "created_at) VALUES ('w', 'EUR', 2, 'UTC', 'retail', 'standard', 'en', '2024-01-01')")
        raw.executemany("INSERT INTO customers(workspace_id, customer_code, created_at) VALUES (1, ?, '2024-01-01')",
                        [(f"C{i}",) for i in range(n)])
        raw.execute("INSERT INTO products(workspace_id, product_code, active, is_merchandise, in_catalog) "
                    "VALUES (1, 'P', 1, 1, 1)")
        raw.execute("INSERT INTO pipeline_runs(workspace_id, run_uuid, status, as_of, config_json, config_hash, "
                    "data_hash, created_by, started_at) VALUES (1, 'u', 'succeeded', '2024-01-01', '{}', 'h', 'd', "
                    "'x', '2024-01-01')")
        raw.executemany("INSERT INTO offers(workspace_id, run_id, customer_id, product_id, rank, scenario, score, "
                        "components_json, explanation_code, explanation_params_json, gate, state, version, "
                        "created_at, origin) VALUES (1, 1, ?, 1, 1, 'REBUY', 0.5, '{}', 'X', '{}', 'PASS', "
                        "'pending', 1, '2024-01-01', 'engine')", [(i + 1,) for i in range(n)])
    started = time.perf_counter()
    assert delete_run(db, admin, 1)["offers"] == n
    assert time.perf_counter() - started < 20


@pytest.mark.postgres
def test_a_run_is_deleted_and_a_decided_one_refused_on_postgresql(pg_db, admin):
    _, run_id = build_gated(pg_db.url)
    db = Database.open(pg_db.url)
    second = run_pipeline(db, get_workspace(db, "shop"), ANALYST, Config()).run_id
    _approve(db, second)
    with pytest.raises(ValidationError, match="decided or exported"):
        delete_run(db, admin, second)
    offers = _rows(db, run_id)["offers"]
    assert delete_run(db, admin, run_id)["offers"] == offers
    assert _rows(db, run_id)["runs"] == 0 and _rows(db, second)["runs"] == 1
