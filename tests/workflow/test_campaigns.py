"""Building campaigns: only approved, gated offers of one run in no other campaign; roles; what is recorded."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from crm_core.errors import PermissionDenied, ValidationError
from crm_core.outcomes.holdout import default_seed
from crm_core.store.audit_log import verify_chain
from crm_core.store.models import AuditEvent, Campaign, CampaignOffer
from crm_core.views.campaigns import campaign_info, campaign_offers, eligible_offers, list_campaigns
from crm_core.workflow import create_campaign
from tests.workflow import campaign_world
from tests.workflow.campaign_world import ANALYST, approve, sql

campaign_template, world = campaign_world.campaign_template, campaign_world.world  # fixtures


def _campaign_offer_ids(db, campaign_id: int) -> list[int]:
    with db.read() as s:
        return sorted(s.scalars(select(CampaignOffer.offer_id).where(CampaignOffer.campaign_id == campaign_id)))


def test_a_campaign_keeps_the_eligible_offers_and_records_why_the_others_were_left_out(world):
    db = world.db
    approved = approve(db, "id <= 12")
    sql(db, "UPDATE offers SET gate = 'BLOCK' WHERE id IN (3, 15)")  # 3 approved then blocked, 15 pending
    sql(db, "UPDATE offers SET state = 'rejected' WHERE id = 16")
    wanted = list(range(1, 19)) + [999_999]
    campaign_id = create_campaign(db, ANALYST, "  Spring   winback ", wanted, holdout_share=0.1)

    kept = [i for i in approved if i != 3]
    assert _campaign_offer_ids(db, campaign_id) == kept
    info = campaign_info(db, campaign_id)
    assert info.name == "Spring winback" and info.state == "draft" and info.run_id == world.run_id
    assert info.created_by == ANALYST.username and info.holdout_share == 0.1
    left = info.selection["left_out"]
    assert {code: v["count"] for code, v in left.items()} == {"NOT_FOUND": 1, "BLOCKED": 2, "NOT_APPROVED": 5}
    assert left["BLOCKED"]["offer_ids"] == [3, 15] and left["NOT_FOUND"]["offer_ids"] == [999_999]
    assert info.selection["requested"] == 19 and info.selection["kept"] == len(kept)
    listed = list_campaigns(db, world.shop_id).iloc[0]
    assert (listed["campaign_id"], listed["offers"], listed["left_out"], listed["treatment"]) == \
        (campaign_id, len(kept), 8, 0)
    assert listed["customers"] == campaign_offers(db, campaign_id)["customer_id"].nunique()


def test_no_eligible_offer_is_refused_naming_why_and_creates_nothing(world):
    db = world.db
    approve(db, "id = 1")
    sql(db, "UPDATE offers SET gate = 'BLOCK' WHERE id = 1")
    sql(db, "UPDATE offers SET state = 'rejected' WHERE id = 2")
    with pytest.raises(ValidationError) as caught:
        create_campaign(db, ANALYST, "Nothing", [1, 2, 3, 4])
    message = str(caught.value)
    assert "None of the 4 offer(s)" in message
    assert "1 were blocked by the audit gate" in message
    assert "3 are not approved (pending: 2, rejected: 1)" in message
    with db.read() as s:
        assert s.scalar(select(Campaign.id)) is None


def test_an_offer_goes_into_one_campaign_only_and_never_after_export(world):
    db = world.db
    approve(db, "id <= 6")
    first = create_campaign(db, ANALYST, "First", [1, 2, 3])
    second = create_campaign(db, ANALYST, "Second", [2, 3, 4, 5])
    assert _campaign_offer_ids(db, second) == [4, 5]
    assert campaign_info(db, second).selection["left_out"]["IN_ANOTHER_CAMPAIGN"]["offer_ids"] == [2, 3]
    sql(db, "UPDATE offers SET state = 'exported' WHERE id = 6")
    with pytest.raises(ValidationError, match="were already exported"):
        create_campaign(db, ANALYST, "Third", [6, 1])
    assert first != second


def test_the_eligible_offers_view_shows_what_a_new_campaign_can_take(world):
    db = world.db
    approve(db, "id <= 9")
    sql(db, "UPDATE offers SET gate = 'REVIEW' WHERE id = 4")
    sql(db, "UPDATE offers SET gate = 'BLOCK' WHERE id = 5")
    create_campaign(db, ANALYST, "Takes two", [1, 2])
    assert sorted(eligible_offers(db, world.run_id)["offer_id"]) == [3, 4, 6, 7, 8, 9]
    scenario = eligible_offers(db, world.run_id)["scenario"].iloc[0]
    filtered = eligible_offers(db, world.run_id, scenario=scenario)
    assert len(filtered) and set(filtered["scenario"]) == {scenario}


def test_offers_of_two_runs_cannot_share_a_campaign(world):
    db = world.db
    approve(db, "id <= 2")
    sql(db, "INSERT INTO pipeline_runs (workspace_id, run_uuid, status, as_of, config_json, config_hash, data_hash,"
            " created_by, started_at) SELECT workspace_id, 'second-run', status, as_of, config_json, config_hash,"
            " data_hash, created_by, started_at FROM pipeline_runs WHERE id = :run", run=world.run_id)
    sql(db, "UPDATE offers SET run_id = (SELECT id FROM pipeline_runs WHERE run_uuid = 'second-run') WHERE id = 2")
    with pytest.raises(ValidationError, match="come from 2 pipeline runs"):
        create_campaign(db, ANALYST, "Mixed", [1, 2])


@pytest.mark.parametrize("kwargs, message", [
    ({"name": "", "holdout_share": 0.1}, "Give the campaign a name"),
    ({"name": "x" * 201, "holdout_share": 0.1}, "at most 200 characters"),
    ({"name": "Big holdout", "holdout_share": 0.51}, "from 0 to 0.5"),
    ({"name": "Negative", "holdout_share": -0.1}, "from 0 to 0.5"),
    ({"name": "Seed", "holdout_share": 0.1, "seed": -1}, "seed is a whole number"),
])
def test_bad_names_shares_and_seeds_are_refused(world, kwargs, message):
    approve(world.db, "id = 1")
    with pytest.raises(ValidationError, match=message):
        create_campaign(world.db, ANALYST, offer_ids=[1], **kwargs)


def test_the_seed_is_a_fixed_function_of_the_id_unless_given(world):
    db = world.db
    approve(db, "id <= 2")
    default = create_campaign(db, ANALYST, "Default seed", [1])
    given = create_campaign(db, ANALYST, "Given seed", [2], seed=1234)
    assert campaign_info(db, default).seed == default_seed(default)
    assert campaign_info(db, given).seed == 1234


def test_a_viewer_cannot_build_a_campaign(world, viewer):
    approve(world.db, "id = 1")
    with pytest.raises(PermissionDenied, match="submit offers"):
        create_campaign(world.db, viewer, "Not allowed", [1])


def test_building_a_campaign_is_an_audit_event_in_the_chain(world):
    db = world.db
    approve(db, "id <= 4")
    campaign_id = create_campaign(db, ANALYST, "Audited", [1, 2, 3, 4, 5], holdout_share=0.2)
    with db.read() as s:
        event = s.scalar(select(AuditEvent).where(AuditEvent.action == "campaign.created"))
        assert verify_chain(s) == []
        assert (event.actor, event.actor_role, event.entity_id) == ("ann", "analyst", str(campaign_id))
        assert event.after_json["offers"] == 4 and event.after_json["left_out"] == {"NOT_APPROVED": 1}
        assert event.after_json["holdout_share"] == 0.2


@pytest.mark.postgres
def test_two_analysts_taking_the_same_offers_at_once_on_postgres_never_share_one(pg_db):
    import threading

    from tests.workflow.campaign_pg import build_approved_offers

    ids = build_approved_offers(pg_db, customers=30)
    outcomes, barrier = [], threading.Barrier(4)

    def build(k: int):
        barrier.wait()
        try:
            outcomes.append(create_campaign(pg_db, ANALYST, f"Race {k}", ids))
        except ValidationError as exc:
            outcomes.append(exc)

    threads = [threading.Thread(target=build, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    made = [o for o in outcomes if isinstance(o, int)]
    assert len(made) == 1 and len(outcomes) == 4
    with pg_db.read() as s:
        rows = s.execute(select(CampaignOffer.offer_id, CampaignOffer.campaign_id)).all()
    assert sorted(r[0] for r in rows) == sorted(ids) and {r[1] for r in rows} == set(made)
