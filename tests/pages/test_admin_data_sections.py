"""AppTest of the Admin page's Workspaces, Imports, Runs and Backups sections (admins only)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_core.display_text import shown
from crm_core.store.models import AuditEvent, ImportBatch, PipelineRun, Transaction, Workspace
from crm_core.workflow.decisions import decide_offers
from tests.apptest_support import app_test_of
from tests.pages.apptest_tools import frame_with

PAGE = "pages/admin.py"


def _admin(role: str = "admin"):
    return app_test_of(PAGE, role, workspace="shop").run()


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _keys(at) -> set[str]:
    return {w.key for kind in (at.button, at.selectbox, at.text_input) for w in kind}


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
def test_nobody_but_an_admin_gets_the_sections(runs_app, role):
    at = _admin(role)
    assert any("needs the admin role" in e for e in _texts(at.error))
    assert not {"admin_ws_save", "admin_revert_go", "admin_run_delete", "admin_backup_now"} & _keys(at)
    assert not {"Workspaces", "Imports", "Runs", "Backups"} & set(_texts(at.subheader))


def test_the_admin_sees_what_each_workspace_holds_its_imports_and_its_runs(runs_app):
    at = _admin()
    assert not at.exception and not at.error
    workspaces = frame_with(at, "sales_lines").set_index("name")
    assert workspaces.loc["shop", ["customers", "sales_lines", "runs"]].tolist() == [40, 402, 2]
    imports = frame_with(at, "revert_reason")
    assert imports[["kind", "source", "status", "rows_loaded"]].values.tolist() == \
        [["transactions", "sample_sales.csv", "loaded", 400]]
    runs = frame_with(at, "why_not")
    assert runs["id"].tolist() == [runs_app.last_run, runs_app.first_run] and runs["deletable"].all()


def test_a_workspace_is_renamed_and_its_decimals_kept_while_it_holds_money(runs_app):
    at = _admin()
    at.selectbox(key="admin_ws_pick").select(runs_app.shop_id).run()
    at.number_input(key=f"admin_ws_decimals_{runs_app.shop_id}").set_value(0)
    at.button(key="admin_ws_save").click().run()
    assert any("holds amounts" in e and "at 0 decimals" in e for e in _texts(at.error))
    at.number_input(key=f"admin_ws_decimals_{runs_app.shop_id}").set_value(2)
    at.text_input(key=f"admin_ws_name_{runs_app.shop_id}").input("high street")
    at.button(key="admin_ws_save").click().run()
    assert _texts(at.success) == [f"Saved workspace {shown('high street')}."]
    assert "high street" in frame_with(at, "sales_lines")["name"].tolist()


def test_a_workspace_is_created_and_deleted_only_once_its_name_is_typed(runs_app):
    at = _admin()
    at.text_input(key="admin_ws_new_name").input("outlet")
    at.text_input(key="admin_ws_new_currency").input("chf")
    at.button(key="admin_ws_create").click().run()
    assert any(s.startswith(f"Created workspace {shown('outlet')} (CHF") for s in _texts(at.success))
    outlet = int(frame_with(at, "sales_lines").set_index("name").loc["outlet", "id"])
    at.selectbox(key="admin_ws_delete_pick").select(outlet).run()
    assert at.button(key="admin_ws_delete").disabled
    at.text_input(key="admin_ws_delete_name").input("outlet").run()
    at.button(key="admin_ws_delete").click().run()
    assert any(s.startswith(f"Deleted workspace {shown('outlet')}: ") and "1 workspaces" in s
               for s in _texts(at.success))
    with runs_app.db.read() as s:
        assert s.get(Workspace, outlet) is None


def test_an_import_is_taken_back_with_a_reason_and_the_runs_become_stale(runs_app):
    at = _admin()
    with runs_app.db.read() as s:
        batch = s.scalar(select(ImportBatch.id))
    at.selectbox(key="admin_revert_batch").select(batch).run()
    at.text_input(key="admin_revert_reason").input("the wrong shop's file")
    at.button(key="admin_revert_go").click().run()
    assert not at.exception
    (message,) = _texts(at.success)
    assert message.startswith(f"Import #{batch} taken back: 402 sales lines")
    assert message.endswith(f"Runs #{runs_app.first_run}, #{runs_app.last_run} are marked stale.")
    assert frame_with(at, "revert_reason")["status"].tolist() == ["reverted"]
    with runs_app.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Transaction)) == 0
        assert s.scalar(select(AuditEvent.reason).where(AuditEvent.action == "import.reverted")) == \
            "the wrong shop's file"


def test_a_run_is_deleted_and_one_with_decisions_is_not_offered(runs_app):
    from crm_core.auth import Actor, Role
    from crm_core.store.models import Offer

    with runs_app.db.read() as s:
        offer = s.scalar(select(Offer.id).where(Offer.run_id == runs_app.first_run, Offer.gate == "PASS").limit(1))
    decide_offers(runs_app.db, Actor("manager", Role.MANAGER), [offer], "approved")
    at = _admin()
    assert at.selectbox(key="admin_run_pick").options == [
        o for o in at.selectbox(key="admin_run_pick").options if o.startswith(f"#{runs_app.last_run} ")]
    why = frame_with(at, "why_not").set_index("id").loc[runs_app.first_run, "why_not"]
    assert why == "1 of its offers were decided or exported"
    at.selectbox(key="admin_run_pick").select(runs_app.last_run).run()
    at.button(key="admin_run_delete").click().run()
    (message,) = _texts(at.success)
    assert message.startswith(f"Run #{runs_app.last_run} deleted: ") and "120 offers" in message
    with runs_app.db.read() as s:
        assert list(s.scalars(select(PipelineRun.id))) == [runs_app.first_run]


def test_a_backup_is_made_and_restored_from_the_page(runs_app):
    at = _admin()
    at.button(key="admin_backup_now").click().run()
    assert not at.exception
    (made,) = _texts(at.success)
    backups = frame_with(at, "megabytes")
    assert made.startswith("Backed up to ") and len(backups) == 1
    with runs_app.db.unit_of_work() as s:
        s.query(Transaction).delete()
    at.selectbox(key="admin_restore_file").select(backups["file"][0]).run()
    assert at.button(key="admin_restore_go").disabled  # not before "restore" is typed
    at.text_input(key="admin_restore_confirm").input("restore").run()
    at.button(key="admin_restore_go").click().run()
    assert any(s.startswith("Restored ") and "Reload the page" in s for s in _texts(at.success))
    with runs_app.db.read() as s:
        assert s.scalar(select(func.count()).select_from(Transaction)) == 402
