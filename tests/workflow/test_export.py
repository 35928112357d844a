"""Exporting campaigns: never a BLOCK offer, an opted-out or do-not-contact customer, a formula or a holdout
customer; the evidence pack; contact dates the gate sees next time; roles; all or nothing."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.errors import NotFound, PermissionDenied, ValidationError
from crm_core.formula_safety import xlsx_text
from crm_core.services.pipeline import run_pipeline
from crm_core.store.audit_log import verify_chain
from crm_core.store.models import AuditEvent, CampaignMember, CustomerAttribute, Offer
from crm_core.views.campaigns import EVIDENCE_COLUMNS, campaign_evidence, campaign_info, campaign_members
from crm_core.views.workspaces import get_workspace
from crm_core.workflow import create_campaign, export_campaign
from crm_core.workflow.export_files import EXPORT_COLUMNS
from tests.formula_corpus import PAYLOADS, is_formula_in_a_spreadsheet
from tests.workflow import campaign_world
from tests.workflow.campaign_world import (ANALYST, APPROVED_AT, MANAGER, add_pitch, approve, close, csv_cells,
                                           csv_rows, offer_ids, set_attribute, sheet_formulas, sheet_rows, sql,
                                           utc_now_naive, world_from)

campaign_template, world = campaign_world.campaign_template, campaign_world.world  # fixtures

LONG_AGO = dt.datetime(2020, 1, 1)


def _approved_campaign(world, *, share: float = 0.0, where: str = "1=1", seed: int | None = None) -> int:
    return create_campaign(world.db, ANALYST, "Spring", approve(world.db, where), holdout_share=share, seed=seed)


def _offer_states(db, ids) -> dict[int, tuple[str, int]]:
    with db.read() as s:
        return {i: (st, v) for i, st, v in s.execute(select(Offer.id, Offer.state, Offer.version)
                                                      .where(Offer.id.in_(list(ids))))}


def test_formula_payloads_in_names_products_reasons_and_pitches_never_run(world, tmp_path):
    db = world.db
    codes = sql(db, "SELECT id FROM customers WHERE workspace_id = :ws ORDER BY id", ws=world.shop_id)
    for k, (pk,) in enumerate(codes):
        payload = PAYLOADS[k % len(PAYLOADS)]
        sql(db, "UPDATE customers SET first_name = :p, last_name = :q, email = :p, phone = :r WHERE id = :pk",
            p=payload, q=PAYLOADS[(k + 1) % len(PAYLOADS)], r=PAYLOADS[(k + 3) % len(PAYLOADS)], pk=pk)
    for k, (pk,) in enumerate(sql(db, "SELECT id FROM products ORDER BY id")):
        sql(db, "UPDATE products SET name = :p WHERE id = :pk", p=PAYLOADS[(k + 3) % len(PAYLOADS)], pk=pk)
    sql(db, "UPDATE customers SET customer_code = '=1+1' WHERE customer_code = 'C0005'")
    sql(db, "UPDATE offers SET flags = '@SUM(A1:A2)', policy_name = '-2+3', submitted_by = '+cmd' WHERE id <= 30")
    sql(db, """UPDATE offers SET explanation_params_json = json_set(explanation_params_json, '$.product', :p)""",
        p='=HYPERLINK("http://evil.example/x","click")')
    campaign_id = _approved_campaign(world)
    for k, offer_id in enumerate(offer_ids(db, "id <= 20")):
        add_pitch(db, world.shop_id, offer_id, 1, PAYLOADS[k % len(PAYLOADS)], PAYLOADS[(k + 5) % len(PAYLOADS)])
    csv_path, xlsx_path = tmp_path / "c.csv", tmp_path / "c.xlsx"
    export_campaign(db, MANAGER, campaign_id, csv_path)
    export_campaign(db, MANAGER, campaign_id, xlsx_path)

    cells = csv_cells(csv_path)
    planted = [c for c in cells if c.lstrip("'") in PAYLOADS or "HYPERLINK" in c]
    assert len(planted) > 100  # the payloads are in the file, as text
    assert [c for c in cells if is_formula_in_a_spreadsheet(c)] == []
    assert sheet_formulas(xlsx_path) == 0
    mailing = sheet_rows(xlsx_path, "Campaign")
    assert {xlsx_text(p) for p in PAYLOADS} <= {v for r in mailing for v in r.values()}  # every payload, as text
    assert {r["customer_id"] for r in mailing} >= {"=1+1"}
    evidence = sheet_rows(xlsx_path, "Evidence")
    assert {r["policy_name"] for r in evidence} >= {"-2+3"} and {r["submitted_by"] for r in evidence} >= {"+cmd"}


def test_an_export_never_holds_a_blocked_rejected_opted_out_or_do_not_contact_offer(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world)
    now = utc_now_naive()
    # consent changes after approval: C0001 opts out today, C0002 becomes do-not-contact, C0003 opted in long ago
    set_attribute(db, world.shop_id, "C0001", "email_opt_in", "true", LONG_AGO)
    set_attribute(db, world.shop_id, "C0001", "email_opt_in", "false", now)
    set_attribute(db, world.shop_id, "C0002", "do_not_contact", "true", now)
    set_attribute(db, world.shop_id, "C0003", "email_opt_in", "true", LONG_AGO)
    blocked = offer_ids(db, "id IN (10, 20, 30)")
    sql(db, "UPDATE offers SET gate = 'BLOCK' WHERE id IN (10, 20, 30)")  # re-gated after approval
    sql(db, "UPDATE offers SET state = 'rejected' WHERE id = 40")
    every = offer_ids(db)
    result = export_campaign(db, MANAGER, campaign_id, tmp_path / "c.csv")

    rows = csv_rows(tmp_path / "c.csv")
    in_file = {int(r["offer_id"]) for r in rows}
    customers = {r["customer_id"] for r in rows}
    assert not in_file & {*blocked, 40}
    assert "C0001" not in customers and "C0002" not in customers and "C0003" in customers
    assert in_file == set(every) - {*blocked, 40} - set(offer_ids(db, "customer_id IN (SELECT id FROM customers "
                                                                      "WHERE customer_code IN ('C0001', 'C0002'))"))
    members = campaign_members(db, campaign_id).set_index("customer_id")
    assert members.loc["C0001", "group"] == "excluded" and members.loc["C0001", "excluded_reason"] == "OPTED_OUT"
    assert members.loc["C0002", "excluded_reason"] == "DO_NOT_CONTACT"
    assert result.excluded == {"OPTED_OUT": 1, "DO_NOT_CONTACT": 1}
    assert result.withdrawn == {"BLOCKED": 3, "NOT_APPROVED": 1}
    assert result.offers == len(rows) and result.customers == len(customers) == 38
    states = _offer_states(db, every)
    assert {i for i, (st, _) in states.items() if st == "exported"} == in_file
    assert states[40][0] == "rejected" and all(states[i][0] == "approved" for i in blocked)


def test_the_holdout_is_stratified_reproducible_recorded_and_never_in_the_file(campaign_template, tmp_path):
    groups = []
    for k in range(2):
        w = world_from(campaign_template, tmp_path, f"copy{k}.db")
        campaign_id = _approved_campaign(w, share=0.25, seed=77)
        export_campaign(w.db, MANAGER, campaign_id, tmp_path / f"c{k}.csv")
        members = campaign_members(w.db, campaign_id)
        file_customers = {r["customer_id"] for r in csv_rows(tmp_path / f"c{k}.csv")}
        held = set(members.loc[members["group"] == "holdout", "customer_id"])
        assert len(held) == 10 and not held & file_customers  # round(0.25 × 40)
        assert file_customers == set(members.loc[members["group"] == "treatment", "customer_id"])
        segments = members.groupby("segment").size()
        per_stratum = members[members["group"] == "holdout"].groupby("segment").size()
        for segment, n in segments.items():
            assert int(n * 0.25) <= per_stratum.get(segment, 0) <= -(-n * 25 // 100)
        groups.append(members[["customer_id", "segment", "group"]])
        close(w)
    assert groups[0].equals(groups[1])


def test_the_evidence_sheet_documents_each_exported_offer(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, where="id <= 9")
    add_pitch(db, world.shop_id, 1, 1, "Old subject", "Old text", source="llm")
    add_pitch(db, world.shop_id, 1, 2, "New subject", "New text", source="edited")
    result = export_campaign(db, MANAGER, campaign_id, tmp_path / "c.xlsx")
    evidence = sheet_rows(tmp_path / "c.xlsx", "Evidence")
    mailing = sheet_rows(tmp_path / "c.xlsx", "Campaign")

    assert list(evidence[0]) == EVIDENCE_COLUMNS and list(mailing[0]) == EXPORT_COLUMNS
    assert sorted(r["offer_id"] for r in evidence) == sorted(r["offer_id"] for r in mailing) == list(range(1, 10))
    assert result.offers == 9
    with db.read() as s:
        stored = {o.id: o for o in s.scalars(select(Offer).where(Offer.id <= 9))}
        for row in evidence:
            offer = stored[row["offer_id"]]
            assert (row["submitted_by"], row["approved_by"]) == (offer.submitted_by, "max") == ("analyst", "max")
            assert row["approved_at_utc"] == APPROVED_AT
            assert (row["policy_name"], row["policy_version"]) == (offer.policy_name, offer.policy_version)
            assert row["flags"] == offer.flags and row["gate"] == offer.gate
            assert row["audit_score"] == offer.audit_score and row["campaign_id"] == campaign_id
    first = next(r for r in evidence if r["offer_id"] == 1)
    assert (first["pitch_source"], first["pitch_version"], first["pitch_subject"], first["pitch_text"]) == \
        ("edited", 2, "New subject", "New text")
    assert {r["pitch_source"] for r in evidence if r["offer_id"] != 1} == {"none yet"}
    one = next(r for r in mailing if r["offer_id"] == 1)
    assert (one["pitch_subject"], one["pitch_text"]) == ("New subject", "New text")
    assert isinstance(one["price"], float) and isinstance(one["offer_id"], int) and one["campaign_id"] == campaign_id
    assert not {"email", "phone", "first_name", "last_name"} & set(evidence[0])
    shown = campaign_evidence(db, campaign_id)  # what the Campaigns page shows
    assert list(shown.columns) == EVIDENCE_COLUMNS and sorted(shown["offer_id"]) == list(range(1, 10))
    assert shown.set_index("offer_id").loc[1, "pitch_text"] == "New text"


def test_contact_dates_are_recorded_and_the_next_run_sees_them(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, share=0.2)
    export_campaign(db, MANAGER, campaign_id, tmp_path / "c.csv")
    members = campaign_members(db, campaign_id)
    treatment = set(members.loc[members["group"] == "treatment", "customer_id"])
    with db.read() as s:
        stamped = s.execute(select(CustomerAttribute.customer_id, CustomerAttribute.value)
                            .where(CustomerAttribute.attribute == "last_contacted_at")).all()
    assert len(stamped) == len(treatment) == 32

    soon = dt.datetime.now(dt.timezone.utc).date() + dt.timedelta(days=3)
    later = run_pipeline(db, get_workspace(db, "shop"), Actor("analyst", Role.ANALYST), Config(), contact_date=soon)
    flagged = later.offers.assign(recent=later.offers["flags"].str.contains("CONTACTED_RECENTLY"))
    by_customer = flagged.groupby("customer_id")["recent"].all()
    assert set(by_customer[by_customer].index) == treatment
    assert set(later.offers.loc[later.offers["gate"] == "BLOCK", "customer_id"]) >= treatment


def test_exporting_changes_states_versions_and_the_audit_log_without_personal_data(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, where="id <= 12")
    before = _offer_states(db, range(1, 13))
    export_campaign(db, MANAGER, campaign_id, tmp_path / "c.csv")
    after = _offer_states(db, range(1, 13))
    assert all(after[i] == ("exported", before[i][1] + 1) for i in before)
    info = campaign_info(db, campaign_id)
    assert (info.state, info.version, info.exported_by) == ("exported", 2, "max") and info.exported_at is not None
    with db.read() as s:
        events = s.scalars(select(AuditEvent).where(AuditEvent.action.in_(["campaign.exported", "offer.exported"]))
                           ).all()
        assert verify_chain(s) == []
        text = " ".join(str(e.before_json) + str(e.after_json) for e in events)
        assert [e.action for e in events].count("offer.exported") == 12
        assert [e.action for e in events].count("campaign.exported") == 1
    assert "First" not in text and "Last" not in text and "@" not in text


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_managers_export(world, tmp_path, role):
    campaign_id = _approved_campaign(world, where="id <= 3")
    with pytest.raises(PermissionDenied, match="export campaigns"):
        export_campaign(world.db, Actor("someone", Role.parse(role)), campaign_id, tmp_path / "c.csv")
    assert not (tmp_path / "c.csv").exists() and campaign_info(world.db, campaign_id).state == "draft"


@pytest.mark.parametrize("name", ["c.txt", "c.xls", "c", "c.csv.zip"])
def test_a_file_that_is_not_csv_or_xlsx_is_refused(world, tmp_path, name):
    campaign_id = _approved_campaign(world, where="id <= 3")
    with pytest.raises(ValidationError, match=r"must end in \.csv .* or \.xlsx"):
        export_campaign(world.db, MANAGER, campaign_id, tmp_path / name)
    assert list(tmp_path.glob("c*")) == [] and campaign_info(world.db, campaign_id).state == "draft"


def test_when_the_file_cannot_be_written_nothing_is_committed(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, share=0.1)
    with pytest.raises(ValidationError, match="Cannot write"):
        export_campaign(db, MANAGER, campaign_id, tmp_path / "missing-folder" / "c.xlsx")
    assert campaign_info(db, campaign_id).state == "draft"
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CampaignMember)) == 0
        assert s.scalar(select(func.count()).select_from(CustomerAttribute)) == 0
        assert set(s.scalars(select(Offer.state))) == {"approved"}


def test_a_second_export_writes_the_same_file_again_and_changes_nothing(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, share=0.2)
    add_pitch(db, world.shop_id, 1, 1, "Subject", "Text")
    first = export_campaign(db, MANAGER, campaign_id, tmp_path / "a.csv")
    add_pitch(db, world.shop_id, 1, 2, "Edited after export", "Never sent")
    again = export_campaign(db, Actor("mo", Role.MANAGER), campaign_id, tmp_path / "b.csv")
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()
    assert first.first_export and not again.first_export
    assert (again.offers, again.customers, again.held_out) == (first.offers, first.customers, first.held_out)
    assert campaign_info(db, campaign_id).version == 2
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(CustomerAttribute)) == first.customers
        downloaded = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.downloaded"))
        assert downloaded.actor == "mo" and downloaded.after_json["offers"] == first.offers
    set_attribute(db, world.shop_id, "C0000", "do_not_contact", "true", utc_now_naive())
    third = export_campaign(db, MANAGER, campaign_id, tmp_path / "c.csv")
    assert "C0000" not in {r["customer_id"] for r in csv_rows(tmp_path / "c.csv")}
    treated = "C0000" in set(campaign_members(db, campaign_id).query("group == 'treatment'")["customer_id"])
    assert third.left_out_since == int(treated)


def test_an_unknown_campaign_is_not_found(world, tmp_path):
    with pytest.raises(NotFound, match="no campaign #404"):
        export_campaign(world.db, MANAGER, 404, tmp_path / "c.csv")


def test_a_campaign_whose_customers_are_all_excluded_is_not_exported(world, tmp_path):
    db = world.db
    campaign_id = _approved_campaign(world, where="customer_id = (SELECT id FROM customers "
                                                  "WHERE customer_code = 'C0007')")
    set_attribute(db, world.shop_id, "C0007", "email_opt_in", "false", utc_now_naive())
    with pytest.raises(ValidationError, match=r"Nothing to export .*\(1 opted out\)"):
        export_campaign(db, MANAGER, campaign_id, tmp_path / "c.csv")
    assert campaign_info(db, campaign_id).state == "draft" and not (tmp_path / "c.csv").exists()


@pytest.mark.postgres
def test_two_managers_exporting_at_once_on_postgres_export_it_once(pg_db, tmp_path):
    import threading

    from tests.workflow.campaign_pg import build_approved_offers

    ids = build_approved_offers(pg_db, customers=24)
    campaign_id = create_campaign(pg_db, ANALYST, "Race", ids, holdout_share=0.25)
    results, barrier = [], threading.Barrier(3)

    def export(k: int):
        barrier.wait()
        results.append(export_campaign(pg_db, Actor(f"m{k}", Role.MANAGER), campaign_id, tmp_path / f"{k}.csv"))

    threads = [threading.Thread(target=export, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.first_export for r in results) == [False, False, True]
    assert len({(tmp_path / f"{k}.csv").read_bytes() for k in range(3)}) == 1
    with pg_db.read() as s:
        assert s.scalar(select(func.count()).select_from(CampaignMember)) == 24
        assert s.scalar(select(func.count()).select_from(CustomerAttribute)) == 18  # 24 - round(0.25 × 24)
        states = sorted(tuple(r) for r in s.execute(select(Offer.state, Offer.version)))
    assert states == [("approved", 1)] * 6 + [("exported", 2)] * 18  # exported once; the holdout's stay approved
    assert campaign_info(pg_db, campaign_id).version == 2


def test_offers_approved_through_the_review_are_exported_with_their_approver(world, tmp_path):
    from crm_core.workflow import decide_offers

    db = world.db
    outcome = decide_offers(db, MANAGER, offer_ids(db, "id <= 6"), "approved")
    assert sorted(outcome.decided) == list(range(1, 7))
    campaign_id = create_campaign(db, ANALYST, "Reviewed", list(range(1, 8)))
    assert campaign_info(db, campaign_id).selection["left_out"]["NOT_APPROVED"]["offer_ids"] == [7]
    export_campaign(db, MANAGER, campaign_id, tmp_path / "c.xlsx")
    evidence = sheet_rows(tmp_path / "c.xlsx", "Evidence")
    assert sorted(r["offer_id"] for r in evidence) == list(range(1, 7))
    assert {r["approved_by"] for r in evidence} == {"max"} and all(r["approved_at_utc"] for r in evidence)
