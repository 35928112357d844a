"""Taking back an import: the workspace holds exactly what it held before, runs built on it are marked stale."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select, update

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from crm_core.ingest.service import import_file
from crm_core.services.import_revert import revert_import
from crm_core.services.overview_summary import overview_figures
from crm_core.services.pipeline import run_pipeline
from crm_core.store.models import (AuditEvent, Base, Customer, ImportBatch, OverviewSummary, PipelineRun, Product,
                                   RunCustomer)
from crm_core.views.workspaces import get_workspace

ANALYST = Actor("ann", Role.ANALYST)
HISTORY = {"audit_events", "import_batches", "import_issues"}  # the record of what happened stays
HEAD = "customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n"
FIRST_SALES = HEAD + "".join(f"C{c},I{c}{m},2024-0{m}-1{c},P{c % 3},1,{2 + c}.50\n" for c in range(1, 7)
                             for m in range(1, 4))
SECOND_SALES = HEAD + "C1,J1,2024-04-02,P1,2,2.50\nC8,J2,2024-04-03,P9,1,9.90\nC9,J3,2024-04-04,P1,1,2.50\n"
CUSTOMERS = ("customer_id,first_name,email_opt_in,do_not_contact,consent_date\n"
             "C1,Ann,yes,no,2024-01-01\nC2,Bob,no,yes,2024-01-02\nC20,Zoe,yes,no,2024-01-03\n")
HOLDINGS = "customer_id,product_id,opened_at,balance\nC1,SAVINGS,2020-01-01,1000.50\nC21,CARD,2021-06-01,0\n"
OUTCOMES = "customer_id,reference,responded_at,converted,revenue\nC1,SPRING,2024-04-02,yes,19.90\nC2,SPRING,,no,\n"


def _import(db, text: str, kind: str = "transactions", name: str | None = None):
    return import_file(db, "shop", (text.encode(), name or f"{kind}.csv"), kind=kind, actor=ANALYST, currency="EUR",
                       imported_at=dt.datetime(2024, 5, 1, 12))


def _counts(db) -> dict[str, int]:
    """Rows per table of everything a workspace holds (the history tables left out)."""
    with db.read() as s:
        return {t.name: int(s.scalar(select(func.count()).select_from(t))) for t in Base.metadata.sorted_tables
                if t.name not in HISTORY}


def _codes(db, model, column) -> set[str]:
    with db.read() as s:
        return set(s.scalars(select(column)))


@pytest.fixture
def loaded(db):
    """A shop with 6 customers' sales, then customers with consent, before anything is taken back."""
    _import(db, FIRST_SALES, name="first.csv")
    _import(db, CUSTOMERS, "customers")
    return db


@pytest.mark.parametrize("kind, text", [("transactions", SECOND_SALES), ("customers", CUSTOMERS.replace("C20", "C22")),
                                        ("holdings", HOLDINGS), ("outcomes", OUTCOMES)])
def test_taking_back_an_import_restores_the_exact_previous_row_counts(loaded, admin, kind, text):
    before = _counts(loaded)
    report = _import(loaded, text, kind, name="second.csv")
    assert report.rows_loaded > 0 and _counts(loaded) != before
    result = revert_import(loaded, admin, report.batch_id, reason="the wrong month's file")
    assert _counts(loaded) == before
    assert sum(result.removed.values()) > 0


def test_new_customers_and_products_go_but_those_named_elsewhere_stay(loaded, admin):
    second = _import(loaded, SECOND_SALES, name="second.csv")
    result = revert_import(loaded, admin, second.batch_id, reason="duplicated export")
    assert result.removed == {"transactions": 3, "customers": 2, "products": 1}  # C8, C9 and P9 came with it
    assert _codes(loaded, Customer, Customer.customer_code) == {f"C{i}" for i in range(1, 7)} | {"C20"}
    assert "P9" not in _codes(loaded, Product, Product.product_code)
    assert "P1" in _codes(loaded, Product, Product.product_code)  # P1 was there before, with other sales


def test_a_customer_a_later_import_also_names_stays(loaded, admin):
    second = _import(loaded, SECOND_SALES, name="second.csv")
    _import(loaded, HEAD + "C8,K1,2024-05-01,P9,1,9.90\n", name="third.csv")
    revert_import(loaded, admin, second.batch_id, reason="wrong file")
    assert {"C8", "C9"} & _codes(loaded, Customer, Customer.customer_code) == {"C8"}
    assert "P9" in _codes(loaded, Product, Product.product_code)


def test_runs_built_on_the_batch_are_marked_stale_and_keep_their_results(loaded, admin):
    shop = get_workspace(loaded, "shop")
    earlier = run_pipeline(loaded, shop, ANALYST, Config()).run_id
    second = _import(loaded, SECOND_SALES, name="second.csv")
    later = run_pipeline(loaded, shop, ANALYST, Config()).run_id
    result = revert_import(loaded, admin, second.batch_id, reason="wrong month")
    assert result.stale_runs == (later,)
    with loaded.read() as s:
        stale = dict(s.execute(select(PipelineRun.id, PipelineRun.stale_reason)).all())
        in_run = set(s.scalars(select(Customer.customer_code).join(RunCustomer, RunCustomer.customer_id == Customer.id)
                               .where(RunCustomer.run_id == later)))
    assert stale[earlier] is None
    assert stale[later].startswith(f"Built on import #{second.batch_id} (second.csv), taken back on ")
    assert stale[later].endswith(": wrong month")
    assert {"C8", "C9"} <= in_run  # the stale run still shows what it was built on
    assert result.removed["transactions"] == 3 and "customers" not in result.removed


def test_the_kept_overview_figures_are_dropped(loaded, admin):
    second = _import(loaded, SECOND_SALES, name="second.csv")
    shop = get_workspace(loaded, "shop")
    kpis, _ = overview_figures(loaded, shop.id)
    revert_import(loaded, admin, second.batch_id, reason="wrong file")
    with loaded.read() as s:
        assert s.get(OverviewSummary, shop.id) is None
    assert overview_figures(loaded, shop.id)[0].orders == kpis.orders - 3


def test_the_batch_is_marked_and_an_audit_event_says_who_why_and_what(loaded, admin):
    second = _import(loaded, SECOND_SALES, name="second.csv")
    revert_import(loaded, admin, second.batch_id, reason="  the wrong\n month  ")
    with loaded.read() as s:
        batch = s.get(ImportBatch, second.batch_id)
        event = s.scalar(select(AuditEvent).order_by(AuditEvent.id.desc()).limit(1))
        assert (batch.status, batch.reverted_by, batch.revert_reason) == ("reverted", "ada", "the wrong month")
        assert batch.reverted_at is not None
        assert (event.action, event.entity_id, event.actor, event.actor_role, event.reason) == \
            ("import.reverted", str(second.batch_id), "ada", "admin", "the wrong month")
        assert event.after_json["removed"] == {"transactions": 3, "customers": 2, "products": 1}


def test_the_same_file_can_be_imported_again_after_it_was_taken_back(loaded, admin):
    second = _import(loaded, SECOND_SALES, name="second.csv")
    revert_import(loaded, admin, second.batch_id, reason="loaded into the wrong workspace by mistake")
    again = _import(loaded, SECOND_SALES, name="second.csv")
    assert (again.status, again.rows_loaded) == ("loaded", 3)


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.MANAGER])
def test_only_an_admin_takes_back_an_import(loaded, role):
    with loaded.read() as s:
        batch = s.scalar(select(func.min(ImportBatch.id)))
    with pytest.raises(PermissionDenied):
        revert_import(loaded, Actor("someone", role), batch, reason="no")


def test_what_cannot_be_taken_back_is_refused_and_nothing_changes(loaded, admin):
    first = 1
    with pytest.raises(ValidationError, match="Say why"):
        revert_import(loaded, admin, first, reason="  ")
    duplicate = _import(loaded, FIRST_SALES, name="again.csv")
    with pytest.raises(ValidationError, match="duplicate"):
        revert_import(loaded, admin, duplicate.batch_id, reason="x")
    catalog = _import(loaded, "product_id,name,price\nP1,Mug,2.50\n", "products")
    with pytest.raises(ValidationError, match="product catalog"):
        revert_import(loaded, admin, catalog.batch_id, reason="x")
    with pytest.raises(NotFound):
        revert_import(loaded, admin, 999, reason="x")
    before = _counts(loaded)
    revert_import(loaded, admin, first, reason="first time")
    with pytest.raises(ConflictError, match="already taken back by ada .* \\(first time\\)"):
        revert_import(loaded, admin, first, reason="second time")
    with loaded.read() as s:
        assert s.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "import.reverted")) == 1
    assert _counts(loaded)["transactions"] == before["transactions"] - 18


def test_a_run_in_progress_is_waited_for(loaded, admin):
    shop = get_workspace(loaded, "shop")
    run_id = run_pipeline(loaded, shop, ANALYST, Config()).run_id
    with loaded.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id).values(status="running", runner=None))
    before = _counts(loaded)
    with pytest.raises(ValidationError, match=f"Run #{run_id} of this workspace is in progress"):
        revert_import(loaded, admin, 1, reason="x")
    assert _counts(loaded) == before


@pytest.mark.postgres
def test_taking_back_restores_the_row_counts_on_postgresql(pg_db, admin):
    _import(pg_db, FIRST_SALES, name="first.csv")
    _import(pg_db, CUSTOMERS, "customers")
    run_pipeline(pg_db, get_workspace(pg_db, "shop"), ANALYST, Config())
    before = _counts(pg_db)
    second = _import(pg_db, SECOND_SALES, name="second.csv")
    result = revert_import(pg_db, admin, second.batch_id, reason="wrong file")
    assert _counts(pg_db) == before
    assert result.removed == {"transactions": 3, "customers": 2, "products": 1}
