"""The Offers page's model-health card shows the blend the run scored with and the backtest behind it."""

from __future__ import annotations

import pytest

from crm_core.views.model_health import run_calibration
from crm_core.views.runs import latest_run_id
from crm_core.views.workspaces import get_workspace
from tests.offers_page.conftest import _page_template, offers_page, page_db  # noqa: F401  (fixtures)

pytestmark = pytest.mark.slow


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


@pytest.mark.parametrize("role", ["viewer", "analyst"])
def test_the_blend_of_the_run_shown_is_next_to_the_grade_with_its_reason(offers_page, page_db, role):  # noqa: F811
    ws = get_workspace(page_db, "shop")
    run_id = latest_run_id(page_db, ws.id)
    blend = run_calibration(page_db, run_id)
    assert blend is not None  # every run made now says how it chose its blend
    at = _ok(offers_page(role).run())
    cards = {m.label: m.value for m in at.metric}
    assert cards[f"Blend of run #{run_id}"] == blend.chosen.replace("_", " ").capitalize()
    said = [m.value for m in at.markdown if "scored its offers with the" in m.value]
    assert said and blend.chosen.replace("_", " ") in said[0] and "affinity" in said[0]
    assert any(blend.reason[:40] in c.value for c in at.caption)
    tables = [df.value for df in at.dataframe if "all_vs_best" in df.value.columns]
    if blend.blends:
        assert tables and tables[0]["chosen"].sum() == 1
        assert tables[0]["method"].tolist()[:len(blend.blends)] == [b["code"] for b in blend.blends]
    else:
        assert not tables


def test_after_a_health_check_the_blend_card_sits_beside_the_grade(offers_page, page_db):  # noqa: F811
    at = _ok(offers_page("analyst").run())
    at.button(key="model_health_run").click().run()
    _ok(at)
    labels = [m.label for m in at.metric]
    grade = labels.index("Grade")
    assert labels[grade + 1].startswith("Blend of run #")


def test_a_calibrated_run_shows_every_blend_tried_and_the_baselines_with_the_chosen_one_ticked(
        offers_page, page_db, monkeypatch):  # noqa: F811
    """The sample shop is too small to calibrate: the refill shop's report stands in for its run's."""
    import crm_core.views.model_health as views
    from crm_core.recommend.calibration import calibrate
    from crm_core.recommend.engine import prepare
    from crm_core.recommend.settings import RecommendConfig
    from tests.recommend.shops import TRAIN_AS_OF, refill_shop

    tx = refill_shop(customers=1500)
    engine = prepare(tx[tx["invoice_date"] <= str(TRAIN_AS_OF)], None, None, None, as_of=TRAIN_AS_OF,
                     config=RecommendConfig())
    report = calibrate(engine, budget_seconds=60).report
    monkeypatch.setattr(views, "run_calibration", lambda db, run_id: views.calibration_from_report(run_id, report))
    at = _ok(offers_page("viewer").run())
    table = next(df.value for df in at.dataframe if "all_vs_best" in df.value.columns)
    assert table["method"].tolist() == ["configured", "affinity_led", "popularity_led", "rebuy_first",
                                        "discovery_first", "baseline:repeat", "baseline:popularity"]
    assert table.loc[table["chosen"], "method"].tolist() == ["rebuy_first"]
    assert any("Rebuy first" == m.value for m in at.metric)
    assert any("Backtest on this shop's own history" in c.value and "02 Dec 2023" in c.value for c in at.caption)
