"""The read side of the review queue on real gated offers: pages, filters, counters, flags, pitches."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select, update

from crm_core.auth import Actor, Role
from crm_core.store.models import Offer, Pitch, Product
from crm_core.views import offers as offer_views
from crm_core.views.review import (
    QueueFilter,
    matching_offer_versions,
    queue_counts,
    queue_families,
    queue_filter_choices,
    queue_page,
)
from crm_core.views.runs import RunNotFound
from crm_core.workflow import decide_offers
from tests.workflow.review_sample import build_review_template, review_sample_copy

MANAGER = Actor("manager", Role.MANAGER)


@pytest.fixture(scope="module")
def _template(tmp_path_factory):
    return build_review_template(tmp_path_factory.mktemp("review_sample") / "template.db")


@pytest.fixture
def sample(_template, tmp_path):
    """The sample with two real runs (offers submitted by ``analyst``), a copy per test."""
    with review_sample_copy(_template, tmp_path) as sample:
        yield sample


def _all_offers(sample, run_id) -> pd.DataFrame:
    """The reference: the Offers page's view of every offer of the run, with state, audit score and flags."""
    frame = offer_views.offers_frame(sample.db, run_id)
    with sample.db.read() as s:
        extra = pd.DataFrame(s.execute(select(Offer.id, Offer.version).where(Offer.run_id == run_id)).all(),
                             columns=["offer_id", "version"])
    return frame.merge(extra, on="offer_id")


def _every_page(sample, filt, page_size=7, **kw) -> pd.DataFrame:
    first = queue_page(sample.db, sample.shop_id, filt, page=0, page_size=page_size, **kw)
    pages = [first.rows] + [queue_page(sample.db, sample.shop_id, filt, page=p, page_size=page_size, **kw).rows
                            for p in range(1, first.pages)]
    return pd.concat(pages, ignore_index=True)


def test_the_queue_defaults_to_the_newest_runs_pending_offers_best_first(sample):
    page = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=10)
    reference = _all_offers(sample, sample.last_run).sort_values(["score", "offer_id"], ascending=[False, True])
    assert page.run_id == sample.last_run
    assert page.total == len(reference) and page.pages == -(-len(reference) // 10)
    assert page.rows["offer_id"].tolist() == reference["offer_id"].tolist()[:10]


def test_paging_shows_every_matching_offer_exactly_once(sample):
    rows = _every_page(sample, QueueFilter(run_id=sample.first_run))
    reference = _all_offers(sample, sample.first_run)
    assert sorted(rows["offer_id"]) == sorted(reference["offer_id"])
    assert rows["offer_id"].is_unique


def test_rows_carry_the_offers_family_explanation_segment_and_version(sample):
    rows = _every_page(sample, QueueFilter(), page_size=50).set_index("offer_id")
    reference = _all_offers(sample, sample.last_run).set_index("offer_id").loc[rows.index]
    for column in ("family", "explanation", "segment", "segment_label", "scenario", "customer_id", "version"):
        assert rows[column].tolist() == reference[column].tolist(), column
    assert set(rows["submitted_by"]) == {"analyst"}


def test_flag_messages_are_rendered_from_each_offers_stored_facts(sample):
    rows = _every_page(sample, QueueFilter(run_id=sample.first_run, flags=("PRICE_ABOVE_BASKET",)))
    assert len(rows) == 2
    with sample.db.read() as s:
        facts = dict(s.execute(select(Offer.id, Offer.facts_json).where(Offer.id.in_(rows["offer_id"].tolist()))).all())
    for offer_id, flags, messages in rows[["offer_id", "flags", "flag_messages"]].itertuples(index=False):
        assert len(messages) == len(flags.split(";"))
        price = facts[offer_id]["price"]
        assert any(m.startswith(f"Price {price:.2f} is ") for m in messages), messages


@pytest.mark.parametrize("filt, keep", [
    ({"gates": ("REVIEW",)}, lambda o: o["gate"] == "REVIEW"),
    ({"scenarios": ("REBUY", "UPSELL")}, lambda o: o["scenario"].isin(["REBUY", "UPSELL"])),
    ({"min_score": 60, "max_score": 75}, lambda o: o["audit_score"].between(60, 75)),
    ({"flags": ("PRICE_ABOVE_BASKET", "LOW_MARGIN")}, lambda o: o["flags"].str.contains("PRICE_ABOVE_BASKET")),
])
def test_each_filter_keeps_exactly_the_offers_it_names(sample, filt, keep):
    reference = _all_offers(sample, sample.first_run)
    expected = sorted(reference.loc[keep(reference).fillna(False).to_numpy(), "offer_id"])
    assert 0 < len(expected) < len(reference)
    rows = _every_page(sample, QueueFilter(run_id=sample.first_run, **filt))
    assert sorted(rows["offer_id"]) == expected
    assert set(matching_offer_versions(sample.db, sample.shop_id, QueueFilter(run_id=sample.first_run, **filt))) \
        == set(expected)


def test_segment_and_family_filters_match_the_offers_view(sample):
    reference = _all_offers(sample, sample.last_run)
    assert queue_filter_choices(sample.db, sample.last_run).segments == tuple(sorted(reference["segment"].dropna()
                                                                                     .unique()))
    families = queue_families(sample.db, sample.last_run)
    assert dict(zip(reference["product_id"], reference["family"])) == {
        code: families[pk] for code, pk in _product_keys(sample).items() if pk in families.index}
    segment, family = reference["segment"].dropna().iloc[0], reference["family"].iloc[-1]
    expected = sorted(reference.loc[(reference["segment"] == segment) & (reference["family"] == family), "offer_id"])
    assert expected
    filt = QueueFilter(segments=(segment,), families=(family,))
    assert sorted(_every_page(sample, filt)["offer_id"]) == expected
    assert sorted(_every_page(sample, filt, families=families)["offer_id"]) == expected


def _product_keys(sample) -> dict[str, int]:
    with sample.db.read() as s:
        return dict(s.execute(select(Product.product_code, Product.id)).all())


def test_a_flag_filter_matches_whole_codes_only(sample):
    ids = sorted(_all_offers(sample, sample.last_run)["offer_id"])[:2]
    with sample.db.unit_of_work() as s:
        s.execute(update(Offer).where(Offer.id == ids[0]).values(flags="LOW_SCORE;NO_PITCH"))
        s.execute(update(Offer).where(Offer.id == ids[1]).values(flags="LOWXSCORE;NO_PITCHES"))
    found = matching_offer_versions(sample.db, sample.shop_id, QueueFilter(flags=("LOW_SCORE",)))
    assert list(found) == [ids[0]]
    assert matching_offer_versions(sample.db, sample.shop_id, QueueFilter(flags=("LOW",))) == {}


def test_the_newest_pitch_version_is_shown(sample):
    offer_id = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=1).rows["offer_id"].iloc[0]
    with sample.db.unit_of_work() as s:
        s.add_all([Pitch(workspace_id=sample.shop_id, offer_id=int(offer_id), text=text, source=source,
                         created_by="analyst", version=version)
                   for text, source, version in (("Second draft", "edited", 2), ("First draft", "template", 1))])
    rows = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=2).rows
    assert rows[["pitch", "pitch_source"]].iloc[0].tolist() == ["Second draft", "edited"]
    assert rows["pitch"].iloc[1:].isna().all()


def test_counters_and_versions_follow_the_decisions(sample):
    ids = sorted(_all_offers(sample, sample.last_run)["offer_id"])
    before = queue_counts(sample.db, sample.shop_id)
    assert before.by_state["pending"] == len(ids) and before.by_state["approved"] == 0
    assert sum(before.waiting_by_gate.values()) == len(ids)
    decide_offers(sample.db, MANAGER, ids[:3], "approved")
    decide_offers(sample.db, MANAGER, ids[3:4], "flagged", reason="check")
    after = queue_counts(sample.db, sample.shop_id)
    assert (after.by_state["pending"], after.by_state["approved"], after.by_state["flagged"]) == (len(ids) - 4, 3, 1)
    assert after.by_gate == before.by_gate
    versions = matching_offer_versions(sample.db, sample.shop_id, QueueFilter(states=("approved", "flagged")))
    assert versions == {i: 2 for i in ids[:4]}
    assert ids[0] not in set(_every_page(sample, QueueFilter())["offer_id"])


def test_a_run_of_another_workspace_is_refused_and_no_run_gives_an_empty_queue(sample):
    with pytest.raises(RunNotFound):
        queue_page(sample.db, sample.bank_id, QueueFilter(run_id=sample.last_run))
    empty = queue_page(sample.db, sample.bank_id, QueueFilter())
    assert (empty.run_id, empty.total, len(empty.rows)) == (None, 0, 0)
    assert queue_counts(sample.db, sample.bank_id).by_state["pending"] == 0


def test_families_a_caller_knows_are_not_worked_out_again(sample):
    first = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=10)
    assert set(first.families.index) == {_product_keys(sample)[c] for c in first.rows["product_id"]}
    planted = first.families.copy()
    planted[:] = "Kept by the page"  # what the caller kept is what is shown
    again = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=10, known_families=planted)
    assert set(again.rows["family"]) == {"Kept by the page"}


def test_a_family_filter_never_trusts_a_partial_family_list(sample):
    reference = _all_offers(sample, sample.last_run)
    partial = queue_page(sample.db, sample.shop_id, QueueFilter(), page_size=1).families
    family = next(f for f in reference["family"] if f not in set(partial))  # a family the partial list lacks
    filt = QueueFilter(families=(family,))
    expected = sorted(reference.loc[reference["family"] == family, "offer_id"])
    assert sorted(_every_page(sample, filt, families=partial)["offer_id"]) == expected
    assert sorted(matching_offer_versions(sample.db, sample.shop_id, filt, families=partial)) == expected
