"""An admin's workspaces: create, change, delete after typing the name; money's decimals never change meaning."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import func, select, text

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from crm_core.services.pipeline import run_pipeline
from crm_core.services.workspace_admin import create_workspace, delete_workspace, update_workspace
from crm_core.store import Database
from crm_core.store.models import AuditEvent, Base, Customer, Offer, Transaction, Workspace
from crm_core.views.workspace_admin import workspace_table
from crm_core.views.workspaces import get_workspace
from tests.app.sample_db import build_sample_database


@pytest.fixture
def sample(tmp_path):
    """The UI sample (``shop`` with sales, an empty ``bank``) after one run of the shop."""
    url = f"sqlite:///{tmp_path / 'sample.db'}"
    ids = build_sample_database(url, with_users=False)
    db = Database.open(url)
    run_pipeline(db, get_workspace(db, "shop"), Actor("ann", Role.ANALYST), Config())
    yield db, ids
    db.engine.dispose()
    Database._open.pop(url, None)


@dataclass(frozen=True)
class Event:
    before_json: dict | None
    after_json: dict | None
    workspace_id: int | None


def _events(db, action: str) -> list[Event]:
    with db.read() as s:
        return [Event(*row) for row in s.execute(select(AuditEvent.before_json, AuditEvent.after_json,
                                                        AuditEvent.workspace_id)
                                                 .where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_an_admin_creates_a_workspace_with_its_money_and_clock(db, admin):
    ws = create_workspace(db, admin, "  Zurich   branch ", kind="bank", currency="chf", currency_decimals=2,
                          timezone="Europe/Zurich")
    assert (ws.name, ws.kind, ws.currency, ws.currency_decimals, ws.timezone) == \
        ("Zurich branch", "bank", "CHF", 2, "Europe/Zurich")
    (event,) = _events(db, "workspace.created")
    assert event.after_json == {"name": "Zurich branch", "kind": "bank", "currency": "CHF", "currency_decimals": 2,
                                "timezone": "Europe/Zurich"} and event.workspace_id == ws.id
    with pytest.raises(ConflictError, match="already"):
        create_workspace(db, admin, "Zurich branch")


@pytest.mark.parametrize("field, value, said", [
    ("name", " ", "Give the workspace a name"), ("kind", "insurer", "use retail or bank"),
    ("currency", "EURO", "not a currency code"), ("currency_decimals", 7, "from 0 to 4"),
    ("timezone", "Mars/Olympus", "not a time zone"),
])
def test_bad_values_are_refused_naming_what_to_give(db, admin, field, value, said):
    args = {"name": "shop", field: value}
    with pytest.raises(ValidationError, match=said):
        create_workspace(db, admin, args.pop("name"), **args)
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(Workspace)) == 0


def test_settings_change_and_each_change_is_an_audit_event(sample, admin):
    db, ids = sample
    zone = get_workspace(db, "bank").timezone
    ws = update_workspace(db, admin, ids["bank_id"], name="retail bank", currency="usd", currency_decimals=3,
                          timezone="America/New_York")
    assert (ws.name, ws.currency, ws.currency_decimals, ws.timezone) == ("retail bank", "USD", 3, "America/New_York")
    (event,) = _events(db, "workspace.updated")
    assert event.before_json == {"name": "bank", "currency": "EUR", "currency_decimals": 2, "timezone": zone}
    assert event.after_json == {"name": "retail bank", "currency": "USD", "currency_decimals": 3,
                                "timezone": "America/New_York"}
    with pytest.raises(ValidationError, match="Nothing to change"):
        update_workspace(db, admin, ids["bank_id"], currency="USD")
    with pytest.raises(ConflictError, match="There is a workspace called 'shop' already"):
        update_workspace(db, admin, ids["bank_id"], name="shop")


def test_the_decimals_of_a_workspace_holding_money_never_change(sample, admin):
    db, ids = sample
    with pytest.raises(ValidationError, match=r"holds amounts \(.*sales lines.*\) stored as whole minor units at 2 "
                                              r"decimals; at 0 decimals"):
        update_workspace(db, admin, ids["shop_id"], currency_decimals=0)
    assert get_workspace(db, "shop").currency_decimals == 2
    assert update_workspace(db, admin, ids["shop_id"], currency="EUR").currency == "EUR"  # a relabel is fine
    assert _events(db, "workspace.updated")[0].after_json == {"currency": "EUR"}


def test_a_workspace_goes_with_everything_in_it_once_its_name_is_typed(sample, admin):
    db, ids = sample
    shop = ids["shop_id"]
    with pytest.raises(ValidationError, match="Type the workspace's name, shop, exactly"):
        delete_workspace(db, admin, shop, confirm_name="Shop")
    with db.read() as s:
        offers = s.scalar(select(func.count()).select_from(Offer))
    counts = delete_workspace(db, admin, shop, confirm_name=" shop ")
    assert counts["workspaces"] == 1 and counts["transactions"] == 402 and counts["offers"] == offers
    assert counts["customers"] == 40
    with db.read() as s:
        left = {t.name: s.scalar(select(func.count()).select_from(t)) for t in Base.metadata.sorted_tables}
        assert s.execute(text("PRAGMA foreign_key_check")).all() == []
    assert left["workspaces"] == 1 and left["customers"] == 0 and left["transactions"] == 0
    assert left["offers"] == left["run_customers"] == left["pipeline_runs"] == 0
    assert left["audit_events"] > 0  # the log keeps the workspace's history, including its deletion
    (event,) = _events(db, "workspace.deleted")
    assert event.workspace_id == shop and event.before_json["name"] == "shop"
    assert event.before_json["rows"]["transactions"] == 402
    assert list(workspace_table(db)["name"]) == ["bank"]


def test_the_workspace_table_counts_what_each_holds(sample):
    db, _ = sample
    table = workspace_table(db).set_index("name")
    assert table.loc["shop", ["customers", "sales_lines", "runs"]].tolist() == [40, 402, 1]
    assert table.loc["bank", ["customers", "sales_lines", "runs", "currency"]].tolist() == [0, 0, 0, "EUR"]


@pytest.mark.parametrize("role", [Role.VIEWER, Role.ANALYST, Role.MANAGER])
def test_only_an_admin_manages_workspaces(sample, role):
    db, ids = sample
    someone = Actor("someone", role)
    for call in (lambda: create_workspace(db, someone, "x"),
                 lambda: update_workspace(db, someone, ids["bank_id"], name="y"),
                 lambda: delete_workspace(db, someone, ids["bank_id"], confirm_name="bank")):
        with pytest.raises(PermissionDenied):
            call()
    assert sorted(workspace_table(db)["name"]) == ["bank", "shop"]


def test_an_unknown_workspace_is_named(db, admin):
    with pytest.raises(NotFound, match="no workspace #42"):
        update_workspace(db, admin, 42, name="x")


@pytest.mark.postgres
def test_deleting_a_workspace_on_postgresql_leaves_the_other_one(pg_db, admin):
    ids = build_sample_database(pg_db.url, with_users=False)
    run_pipeline(pg_db, get_workspace(pg_db, "shop"), Actor("ann", Role.ANALYST), Config())
    counts = delete_workspace(pg_db, admin, ids["shop_id"], confirm_name="shop")
    assert counts["transactions"] == 402
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(Transaction)) == 0
        assert s.scalar(select(func.count()).select_from(Customer)) == 0
    assert list(workspace_table(pg_db)["name"]) == ["bank"]
    empty = create_workspace(pg_db, admin, "shop2", currency="JPY")
    assert update_workspace(pg_db, admin, empty.id, currency_decimals=0).currency_decimals == 0  # holds no money
