"""Merging duplicate customers: every row kept, history and offers follow the survivor, consent is the
most restrictive, undo restores exactly, every merge is audited, and only managers decide."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from crm_core.errors import ConflictError, PermissionDenied, ValidationError
from crm_core.services.merges import dismiss_proposal, merge_customers, propose_merges, undo_merge
from crm_core.store.audit_log import check_chain
from crm_core.store.frames import read_customers
from crm_core.store.models import (AuditEvent, Campaign, CampaignMember, Customer, CustomerAttribute, CustomerMerge,
                                   Holding, ImportBatch, Offer, Outcome, PipelineRun, Product, RunCustomer, Transaction,
                                   Workspace)
from crm_core.views.merges import merge_history, merged_into

TABLES = (Customer, Transaction, Holding, Outcome, CustomerAttribute, CampaignMember, Offer, RunCustomer)
EVIDENCE = {"rules": ["email"], "text": "same e-mail: 'Ann@Shop.COM ' and 'ann@shop.com'"}


def _world(db) -> dict:
    """Ann twice (A: survivor-to-be, B: her duplicate), a phone pair, a name+postcode pair, and history for A and B."""
    with db.unit_of_work() as s:
        ws = Workspace(name="shop", currency="GBP", currency_decimals=2, timezone="UTC")
        s.add(ws)
        s.flush()
        batch = ImportBatch(workspace_id=ws.id, kind="transactions", source_name="s.csv", content_hash="h",
                            status="loaded", created_by="ann")
        specs = {"A": dict(first_name="Ann", last_name="Lee", email="ann@shop.com"),
                 "B": dict(first_name="Ann", last_name="Lee", email="Ann@Shop.COM "),
                 "C": dict(first_name="Bo", last_name="Ray", phone="+44 20 7946 0958"),
                 "D": dict(first_name="Bob", last_name="Ray", phone="0044 (0)20 7946 0958"),
                 "E": dict(first_name="Zoë", last_name="Müller", city="Leeds", extra_json={"postcode": "LS1 1AA"}),
                 "F": dict(first_name="Zoe", last_name="Muller", city="Leeds", extra_json={"Postcode": "ls11aa"}),
                 "G": dict(first_name="Guy", last_name="Solo", email="guy@shop.com")}
        people = {code: Customer(workspace_id=ws.id, customer_code=code, **kw) for code, kw in specs.items()}
        product = Product(workspace_id=ws.id, product_code="P1", name="Candle", family="Home")
        s.add_all([batch, product, *people.values()])
        s.flush()
        a, b = people["A"].id, people["B"].id
        for i, (who, day, amount) in enumerate([(a, 3, 1000), (a, 40, 2000), (b, 10, 500), (b, 70, 700),
                                                (b, 71, -200), (b, 72, 300)]):
            s.add(Transaction(workspace_id=ws.id, batch_id=batch.id, line_no=i + 2, customer_id=who,
                              product_id=product.id, invoice_code=f"I{i}", is_return=amount < 0,
                              invoice_date=dt.datetime(2025, 1, 1) + dt.timedelta(days=day), amount_minor=amount))
        s.add(Holding(workspace_id=ws.id, customer_id=b, product_id=product.id))
        s.add(Outcome(workspace_id=ws.id, customer_id=b, converted=True, revenue_minor=900))
        for who, attr, value, when in [(a, "email_opt_in", "true", "2025-03-01"), (b, "email_opt_in", "false",
                                                                                    "2024-06-01"),
                                       (b, "do_not_contact", "true", "2024-06-01"),
                                       (a, "last_contacted_at", "2025-02-01 10:00:00", "2025-02-01"),
                                       (b, "last_contacted_at", "2025-05-01 09:00:00", "2025-05-01")]:
            s.add(CustomerAttribute(workspace_id=ws.id, customer_id=who, attribute=attr, value=value,
                                    effective_from=dt.datetime.fromisoformat(when)))
        run = PipelineRun(workspace_id=ws.id, run_uuid="r1", status="succeeded", as_of=dt.date(2025, 6, 1),
                          config_json={}, config_hash="c", data_hash="d", created_by="ann")
        s.add(run)
        s.flush()
        for who in (a, b):
            s.add(RunCustomer(run_id=run.id, customer_id=who, first_purchase=dt.date(2025, 1, 4),
                              last_purchase=dt.date(2025, 3, 1), recency_days=90, frequency=2, monetary_minor=3000,
                              rfm_segment="LOYAL"))
            for rank in (1, 2):
                s.add(Offer(workspace_id=ws.id, run_id=run.id, customer_id=who, product_id=product.id, rank=rank,
                            scenario="REBUY", score=0.5, components_json={}, explanation_code="X",
                            explanation_params_json={}))
        both, only_b = (Campaign(workspace_id=ws.id, name=n, created_by="ann") for n in ("both", "only B"))
        s.add_all([both, only_b])
        s.flush()
        s.add_all([CampaignMember(campaign_id=both.id, customer_id=a, group="treatment"),
                   CampaignMember(campaign_id=both.id, customer_id=b, group="treatment"),
                   CampaignMember(campaign_id=only_b.id, customer_id=b, group="holdout")])
        return {"ws": ws.id, "run": run.id, **{code: c.id for code, c in people.items()}}


def _counts(db) -> dict[str, int]:
    with db.read() as s:
        return {m.__tablename__: int(s.scalar(select(func.count()).select_from(m))) for m in TABLES}


def _snapshot(db) -> dict[str, set]:
    """Every row's owner (and an offer's rank), table by table."""
    with db.read() as s:
        shot = {m.__tablename__: set(s.execute(select(m.id, m.customer_id)).all()) for m in TABLES[1:]}
        shot["offer_ranks"] = set(s.execute(select(Offer.id, Offer.customer_id, Offer.rank)).all())
    return shot


@pytest.fixture
def world(db):
    return _world(db)


def test_proposals_find_the_planted_duplicates_with_their_evidence(db, world):
    found = propose_merges(db, world["ws"])
    pairs = {frozenset((s, m)): row for s, m, row in zip(found["survivor"], found["merged"],
                                                           found.to_dict("records"))}
    assert set(pairs) == {frozenset("AB"), frozenset("CD"), frozenset("EF")}
    ann = pairs[frozenset("AB")]
    assert ann["rules"].startswith("email") and "'Ann@Shop.COM '" in ann["evidence"]
    assert "'0044 (0)20 7946 0958'" in pairs[frozenset("CD")]["evidence"]
    assert pairs[frozenset("EF")]["rules"] == "name_postcode"
    assert (ann["survivor"], ann["merged"]) == ("B", "A")  # B has more sales lines: it carries the history
    assert (ann["survivor_lines"], ann["merged_lines"]) == (3, 2)  # sales lines; the return is netted in revenue
    assert ann["survivor_revenue"] == pytest.approx(13.0) and ann["merged_revenue"] == pytest.approx(30.0)


def test_merge_and_undo_keep_every_row(db, world, manager):
    before, snap = _counts(db), _snapshot(db)
    merge_id = merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    after = _counts(db)
    with db.read() as s:
        added = len(s.get(CustomerMerge, merge_id).added_json["customer_attributes"])
    assert added >= 1
    assert after == {**before, "customer_attributes": before["customer_attributes"] + added}
    undo_merge(db, manager, merge_id, reason="two sisters")
    assert _counts(db) == before
    assert _snapshot(db) == snap  # every row back with its owner, every offer at its rank


def test_history_offers_and_memberships_follow_the_survivor_run_rows_stay(db, world, manager):
    a, b = world["A"], world["B"]
    merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    with db.read() as s:
        assert s.scalar(select(func.count()).where(Transaction.customer_id == b)) == 0
        assert s.scalar(select(func.count()).where(Transaction.customer_id == a)) == 6
        assert s.scalar(select(Holding.customer_id)) == a and s.scalar(select(Outcome.customer_id)) == a
        ranks = s.execute(select(Offer.customer_id, Offer.rank).order_by(Offer.rank)).all()
        assert ranks == [(a, 1), (a, 2), (a, 3), (a, 4)]  # B's offers ranked after A's own
        members = dict(s.execute(select(CampaignMember.campaign_id, CampaignMember.customer_id)
                                 .where(CampaignMember.customer_id == b)).all())
        assert len(members) == 1  # the campaign A was already in keeps B's row (one member per campaign)
        assert s.scalar(select(func.count()).where(CampaignMember.customer_id == a)) == 2
        assert sorted(s.scalars(select(RunCustomer.customer_id))) == sorted([a, b])  # runs are history
        assert s.get(Customer, b) is not None  # the merged record is kept
    assert merged_into(db, world["ws"]) == {"B": "A"}


def test_the_most_restrictive_consent_wins(db, world, manager):
    today = dt.date.today()
    assert read_customers(db, world["ws"], today).set_index("customer_id").loc["A", "email_opt_in"]
    merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    ann = read_customers(db, world["ws"], today).set_index("customer_id").loc["A"]
    assert not ann["email_opt_in"]  # B opted out: that wins over A's opt-in
    assert ann["do_not_contact"]
    assert ann["last_contacted_at"] == dt.datetime(2025, 5, 1, 9, 0)  # the later contact


def test_undo_restores_consent_exactly(db, world, manager):
    today = dt.date.today()
    ann_before = read_customers(db, world["ws"], today).set_index("customer_id").loc[["A", "B"]]
    merge_id = merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    undo_merge(db, manager, merge_id)
    ann_after = read_customers(db, world["ws"], today).set_index("customer_id").loc[["A", "B"]]
    assert ann_after.equals(ann_before)
    with pytest.raises(ConflictError, match="is undone by max"):
        undo_merge(db, manager, merge_id)


def test_every_merge_and_undo_writes_an_audit_event_without_contact_details(db, world, manager):
    merge_id = merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE, reason="same person")
    undo_merge(db, manager, merge_id, reason="not the same")
    with db.read() as s:
        events = s.execute(select(AuditEvent.action, AuditEvent.actor, AuditEvent.entity_id, AuditEvent.after_json,
                                  AuditEvent.reason).order_by(AuditEvent.id)).all()
        assert check_chain(s).intact
    assert [(e.action, e.actor, e.entity_id) for e in events] == [
        ("customer.merged", "max", str(merge_id)), ("customer.merge_undone", "max", str(merge_id))]
    assert events[0].after_json["moved"]["transactions"] == 4 and events[0].reason == "same person"
    assert "shop.com" not in str(events) and "Ann@" not in str(events)
    history = merge_history(db, world["ws"])
    assert history.loc[0, "state"] == "undone" and history.loc[0, "undone_by"] == "max"
    assert history.loc[0, "moved_rows"] > 0


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_only_managers_and_admins_may_merge(db, world, role, request, manager, admin):
    actor = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied, match="manager"):
        merge_customers(db, actor, world["ws"], "A", "B", evidence=EVIDENCE)
    merge_id = merge_customers(db, admin, world["ws"], "A", "B", evidence=EVIDENCE)
    with pytest.raises(PermissionDenied):
        undo_merge(db, actor, merge_id)


def test_a_customer_merged_away_cannot_be_merged_again_and_undo_goes_newest_first(db, world, manager):
    original = _snapshot(db)
    first = merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    with pytest.raises(ConflictError, match="was merged into A"):
        merge_customers(db, manager, world["ws"], "G", "B", evidence=EVIDENCE)
    second = merge_customers(db, manager, world["ws"], "G", "A", evidence={"rules": [], "text": "same person"})
    with pytest.raises(ConflictError, match=f"undo merge #{second} first"):
        undo_merge(db, manager, first)
    undo_merge(db, manager, second)
    undo_merge(db, manager, first)
    assert _snapshot(db) == original and merged_into(db, world["ws"]) == {}


def test_the_next_run_sees_one_customer_with_both_histories(tmp_path, manager, analyst):
    from crm_core.config import Config
    from crm_core.services.pipeline import run_pipeline
    from crm_core.store import Database
    from crm_core.views.runs import run_customers
    from crm_core.views.workspaces import get_workspace
    from tests.app.sample_db import build_sample_database

    url = f"sqlite:///{tmp_path / 'sample.db'}"
    ids = build_sample_database(url, with_users=False, with_bank=False)
    db = Database.open(url)
    shop = get_workspace(db, "shop")
    before = run_customers(db, run_pipeline(db, shop, analyst, Config()).run_id)
    merge_customers(db, manager, ids["shop_id"], "C0002", "C0003", evidence="same e-mail")
    after = run_customers(db, run_pipeline(db, shop, analyst, Config()).run_id)
    assert "C0003" in before.index and "C0003" not in after.index
    assert len(after) == len(before) - 1
    assert after.loc["C0002", "monetary"] == pytest.approx(before.loc["C0002", "monetary"]
                                                           + before.loc["C0003", "monetary"])
    assert after.loc["C0002", "first_purchase"] == min(before.loc[["C0002", "C0003"], "first_purchase"])
    db.engine.dispose()


def test_merging_needs_evidence_and_two_different_records(db, world, manager):
    with pytest.raises(ValidationError, match="evidence"):
        merge_customers(db, manager, world["ws"], "A", "B", evidence="  ")
    with pytest.raises(ValidationError, match="into itself"):
        merge_customers(db, manager, world["ws"], "A", " A ", evidence=EVIDENCE)


def test_merged_and_dismissed_pairs_are_not_proposed_again_but_an_undone_one_is(db, world, manager):
    merge_id = merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    dismiss_proposal(db, manager, world["ws"], "C", "D", evidence="same phone", reason="father and son")
    pairs = {frozenset((s, m)) for s, m in zip(*propose_merges(db, world["ws"])[["survivor", "merged"]].T.values)}
    assert pairs == {frozenset("EF")}
    undo_merge(db, manager, merge_id)
    pairs = {frozenset((s, m)) for s, m in zip(*propose_merges(db, world["ws"])[["survivor", "merged"]].T.values)}
    assert pairs == {frozenset("AB"), frozenset("EF")}


@pytest.mark.postgres
def test_merge_and_undo_on_postgresql(pg_db, manager):
    world = _world(pg_db)
    before, snap = _counts(pg_db), _snapshot(pg_db)
    merge_id = merge_customers(pg_db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    assert merged_into(pg_db, world["ws"]) == {"B": "A"}
    undo_merge(pg_db, manager, merge_id)
    assert _counts(pg_db) == before and _snapshot(pg_db) == snap


def test_a_later_file_with_a_merged_away_id_adds_to_the_survivor(db, world, manager, analyst):
    from crm_core.ingest import import_file

    merge_customers(db, manager, world["ws"], "A", "B", evidence=EVIDENCE)
    sales = b"customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\nB,N1,2025-07-01,P1,1,4\n"
    import_file(db, "shop", (sales, "later.csv"), kind="transactions", actor=analyst)
    people = b"customer_id,email,email_opt_in,effective_date\nB,new@shop.com,true,2025-07-02\n"
    import_file(db, "shop", (people, "later-customers.csv"), kind="customers", actor=analyst)
    with db.read() as s:
        owner = s.scalar(select(Transaction.customer_id).where(Transaction.invoice_code == "N1"))
        consent = s.execute(select(CustomerAttribute.customer_id, CustomerAttribute.value).where(
            CustomerAttribute.effective_from == dt.datetime(2025, 7, 2))).all()
        email = s.scalar(select(Customer.email).where(Customer.id == world["B"]))
    assert owner == world["A"]  # the line went to the record B lives on in, not to B's kept row
    assert consent == [(world["A"], "true")]  # so does her newer consent
    assert email == "new@shop.com"  # B's own fields are still B's
    assert _counts(db)["customers"] == 7  # no new customer for B
