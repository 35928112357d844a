"""AppTest of the Admin page's sections: gating policies, the audit log check, the server log (admins only)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text, update

from crm_core.display_text import shown
from crm_core.store.models import AuditEvent, ConfigVersion, Offer, Workspace
from crm_core.workflow.policies import save_policy
from tests.apptest_support import app_test_of, database_copy
from tests.pages.apptest_tools import frame_with
from tests.workflow.gated_sample import template


@pytest.fixture
def gated_app(tmp_path, monkeypatch, fast_bcrypt):
    """``(db, workspace ids)``: a copy of the gated sample behind the app, its own log folder."""
    monkeypatch.setenv("NEXTBEST_LOG_DIR", str(tmp_path / "logs"))
    source, ids, _ = template()
    with database_copy(source, tmp_path, monkeypatch) as (_, db):
        yield db, ids


def _admin_page(role: str = "admin"):
    return app_test_of("pages/admin.py", role).run()


def _texts(elements) -> list[str]:
    return [e.value for e in elements]


def _gates(db, workspace_id: int) -> dict[str, int]:
    with db.read() as s:
        return dict(s.execute(select(Offer.gate, func.count()).where(Offer.workspace_id == workspace_id)
                              .group_by(Offer.gate)).all())


@pytest.mark.parametrize("role", ["viewer", "analyst", "manager"])
def test_only_an_admin_sees_the_page(gated_app, role):
    at = _admin_page(role)
    assert not at.exception
    assert any("needs the admin role" in e for e in _texts(at.error))
    assert "admin_policy_save" not in [b.key for b in at.button]
    assert "Gating policies" not in _texts(at.subheader)


def test_an_admin_sees_users_policies_audit_log_and_server_log(gated_app):
    at = _admin_page()
    assert not at.exception and not at.error
    assert _texts(at.subheader) == ["Users", "Workspaces", "Imports", "Runs", "Gating policies", "Backups", "Audit log",
                                    "Server log"]
    policies = frame_with(at, "active_in")
    assert policies[["policy", "version", "kind"]].values.tolist() == [
        ["permissive", 1, "built-in"], ["standard", 1, "built-in"], ["strict", 1, "built-in"]]
    assert dict(zip(policies["policy"], policies["active_in"])) == {"permissive": "", "standard": "bank, shop",
                                                                    "strict": ""}
    assert "admin_set_role" in [b.key for b in at.button]  # the users section still works


def test_applying_strict_regates_the_workspace_and_reports_the_count(gated_app):
    db, ids = gated_app
    shop = ids["shop_id"]
    before = _gates(db, shop)
    at = _admin_page()
    assert at.selectbox(key=f"admin_policy_ws_{shop}").value == "standard"
    at.selectbox(key=f"admin_policy_ws_{shop}").select("strict").run()
    at.button(key=f"admin_policy_apply_{shop}").click().run()
    after = _gates(db, shop)
    total = sum(before.values())
    assert after["BLOCK"] > before["BLOCK"] and sum(after.values()) == total
    (message,) = _texts(at.success)
    assert f"{total:,} of {total:,} undecided offers re-gated" in message
    assert f"PASS {after.get('PASS', 0)}, REVIEW {after.get('REVIEW', 0)}, BLOCK {after['BLOCK']}" in message
    with db.read() as s:
        assert s.get(Workspace, shop).policy_name == "strict"


def test_a_custom_policy_is_saved_from_the_form(gated_app):
    db, _ = gated_app
    at = _admin_page()
    at.text_input(key="admin_policy_name").input("careful")
    at.text_input(key="admin_policy_description").input("Review weak offers")
    at.number_input(key="admin_policy_review_below").set_value(70)
    at.number_input(key="admin_policy_block_below").set_value(20)
    at.multiselect(key="admin_policy_review_on").select("LOW_SCORE")
    at.multiselect(key="admin_policy_escalate").select("THIN_DATA")
    at.button(key="admin_policy_save").click().run()
    assert not at.exception and not at.error
    assert _texts(at.success) == ["Saved policy careful version 1."]
    with db.read() as s:
        body = s.scalar(select(ConfigVersion.body_json).where(ConfigVersion.name == "careful"))
    assert (body["review_below"], body["block_below"], body["review_on"], body["escalate"]) == \
        (70, 20, ["LOW_SCORE"], ["THIN_DATA"])
    table = frame_with(at, "active_in")
    assert ["careful", 1, "custom"] in table[["policy", "version", "kind"]].values.tolist()


def test_an_invalid_policy_shows_the_reason_next_to_the_form_and_saves_nothing(gated_app):
    db, _ = gated_app
    at = _admin_page()
    at.text_input(key="admin_policy_name").input("careful")
    at.number_input(key="admin_policy_review_below").set_value(40)
    at.number_input(key="admin_policy_block_below").set_value(60)
    at.button(key="admin_policy_save").click().run()
    assert not at.exception
    assert any("block_below (60) must not be above review_below (40)" in e for e in _texts(at.error))
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ConfigVersion)) == 0


def test_starting_from_a_saved_policy_fills_the_form_with_its_newest_version(gated_app, admin):
    db, _ = gated_app
    save_policy(db, admin, {"name": "careful", "review_below": 70, "block_below": 20, "review_on": ["LOW_SCORE"]})
    save_policy(db, admin, {"name": "careful", "review_below": 65, "block_below": 25, "review_on": ["WARN"]})
    at = _admin_page()
    at.selectbox(key="admin_policy_base").select("careful").run()
    assert at.text_input(key="admin_policy_name").value == "careful"
    assert (at.number_input(key="admin_policy_review_below").value,
            at.number_input(key="admin_policy_block_below").value) == (65, 25)
    assert at.multiselect(key="admin_policy_review_on").value == ["WARN"]
    at.button(key="admin_policy_save").click().run()
    assert _texts(at.success) == ["Saved policy careful version 3."]


def test_verifying_an_intact_chain_shows_the_count_and_the_head(gated_app):
    db, _ = gated_app
    with db.read() as s:
        count = s.scalar(select(func.count()).select_from(AuditEvent))
        head = s.scalar(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1))
    at = _admin_page()
    at.button(key="admin_audit_verify").click().run()
    assert _texts(at.success) == [f"The audit chain is intact: {count:,} events."]
    assert head in [c.value for c in at.code]


def test_verifying_a_tampered_chain_names_the_first_bad_event(gated_app):
    db, _ = gated_app
    with db.unit_of_work() as s:
        s.execute(text("DROP TRIGGER audit_events_no_update"))
        first = s.scalar(select(func.min(AuditEvent.id)))
        s.execute(update(AuditEvent).where(AuditEvent.id == first + 1).values(reason="rewritten"))
    at = _admin_page()
    at.button(key="admin_audit_verify").click().run()
    assert any(f"event #{first + 1} is the first that does not match" in e for e in _texts(at.error))
    assert not at.success


def test_a_kept_head_that_is_no_longer_in_the_log_is_reported(gated_app):
    at = _admin_page()
    at.text_input(key="admin_audit_expect_head").input("cd" * 32)
    at.button(key="admin_audit_verify").click().run()
    assert any("truncated or rewritten" in e for e in _texts(at.error))


def test_the_server_log_shows_its_newest_lines(gated_app, tmp_path):
    (tmp_path / "logs").mkdir(exist_ok=True)
    lines = [f"line {i}" for i in range(250)] + ["Traceback: RuntimeError: the run failed"]
    (tmp_path / "logs" / "nextbest.log").write_text("\n".join(lines) + "\n", encoding="utf-8")
    at = _admin_page()
    log = next(e for e in at.expander if e.label.startswith("The last 200 lines")).text[0].value
    assert log.splitlines() == lines[-200:]


def test_a_workspace_name_from_a_file_is_shown_literally(gated_app):
    db, ids = gated_app
    name = "[click](https://evil.example) *bold*"
    with db.unit_of_work() as s:
        s.get(Workspace, ids["bank_id"]).name = name
    at = _admin_page()
    assert shown(name) in _texts(at.markdown)
    assert name not in _texts(at.markdown)
