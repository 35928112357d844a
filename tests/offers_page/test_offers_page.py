"""AppTest of pages/offers.py for every role: charts, filters, the selected offer's components, model health."""

from __future__ import annotations

import pytest

from crm_core.config import Config
from crm_core.display_text import shown
from crm_core.services.model_health import evaluate_workspace
from crm_core.views import offers as offer_views
from crm_core.views import runs
from crm_core.views.runs import latest_run_id
from crm_core.views.workspaces import get_workspace

ROLES = ["viewer", "analyst", "manager", "admin"]


def _ok(at):
    assert not at.exception, [e.value for e in at.exception]
    return at


def _chart_keys(at) -> list[str]:
    return [c.key for c in at.get("plotly_chart")]


def _table(at):
    return next(df.value for df in at.dataframe if "explanation" in df.value.columns)


@pytest.fixture
def shop(page_db):
    ws = get_workspace(page_db, "shop")
    return ws, latest_run_id(page_db, ws.id)


@pytest.mark.parametrize("role", ROLES)
def test_every_role_sees_counts_charts_and_the_offer_list(offers_page, page_db, shop, role):
    ws, run_id = shop
    at = _ok(offers_page(role).run())
    assert at.title[0].value == "Offers"
    run = offer_views.offer_run(page_db, run_id)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Offers"] == f"{run.offers:,}" and metrics["Customers with offers"] == f"{run.customers:,}"
    assert _chart_keys(at) == ["chart_offers_by_segment", "chart_score_distribution"]
    table = _table(at)
    assert len(table) == run.offers == 120
    assert table["explanation"].str.len().min() > 10  # every offer carries its reason
    assert table["score"].is_monotonic_decreasing


def test_filters_narrow_the_table(offers_page, page_db, shop):
    ws, run_id = shop
    at = _ok(offers_page("viewer").run())
    at.multiselect(key="offers_scenario").set_value(["CROSS_SELL"]).run()
    table = _table(_ok(at))
    assert 0 < len(table) < 120 and set(table["scenario"]) == {"CROSS_SELL"}
    assert len(table) == offer_views.count_offers(page_db, run_id, scenario="CROSS_SELL")
    at.multiselect(key="offers_scenario").set_value([]).run()
    family = offer_views.offer_filter_choices(page_db, run_id).families[0]
    at.multiselect(key="offers_family").set_value([family])
    at.slider(key="offers_min_score").set_value(0.7).run()
    table = _table(_ok(at))
    assert set(table["family"]) == {family} and table["score"].min() >= 0.7
    assert len(table) == offer_views.count_offers(page_db, run_id, family=family, min_score=0.7)
    segment = offer_views.offer_filter_choices(page_db, run_id).segments[0]
    at.multiselect(key="offers_segment").set_value([segment]).run()
    assert set(_table(_ok(at))["segment"]) <= {segment}
    assert any("matching offers" in c.value for c in at.caption)


def test_selecting_an_offer_shows_its_score_components(offers_page):
    at = _ok(offers_page("viewer").run())
    assert "chart_offer_components" not in _chart_keys(at)
    table = _table(at)
    at.session_state["offers_table"] = {"selection": {"rows": [2], "columns": [], "cells": []}}
    _ok(at.run())
    assert _chart_keys(at)[-1] == "chart_offer_components"
    chosen = table.iloc[2]
    spec = at.get("plotly_chart")[-1].proto.spec
    assert f"scores {chosen['score']:.2f}" in spec and "Affinity" in spec
    assert any(shown(chosen["customer_id"]) in m.value and shown(chosen["product_id"]) in m.value for m in at.markdown)
    assert any(m.value == shown(chosen["explanation"], 600) for m in at.markdown)  # shown literally, as text


def test_analyst_runs_model_health_and_a_viewer_then_sees_the_stored_grade(offers_page, page_db, shop):
    ws, _ = shop
    viewer = _ok(offers_page("viewer").run())
    assert not [b for b in viewer.button if b.key == "model_health_run"]  # viewers cannot start it
    assert any("An analyst can run one" in i.value for i in viewer.info)
    analyst = _ok(offers_page("analyst").run())
    analyst.button(key="model_health_run").click().run()
    _ok(analyst)
    assert not analyst.error
    expected = evaluate_workspace(page_db, ws.id, actor=_actor("analyst"), config=Config())
    cards = {m.label: m.value for m in analyst.metric}
    assert cards["Grade"] == expected.grade in {"A", "B", "C"}
    all_track = expected.tracks().iloc[0]
    assert cards["All products: engine vs best rule"] == \
        f"{all_track['engine_hit_rate']:.1%} vs {all_track['baseline_hit_rate']:.1%}"
    assert any(m.value == expected.meaning for m in analyst.markdown)
    health_table = next(df.value for df in analyst.dataframe if "vs_best_baseline" in df.value.columns)
    assert health_table["method"].tolist() == ["engine", "popularity", "repeat", "engine", "popularity"]
    assert health_table["hit_rate"].tolist()[0] == expected.evaluation["all"]["engine"]["hit_rate"]
    later = _ok(offers_page("viewer").run())  # same data: the stored result is shown, nothing is recomputed
    assert {m.label: m.value for m in later.metric}["Grade"] == expected.grade


def test_a_workspace_without_data_explains_instead_of_failing(offers_page):
    at = offers_page("analyst")
    at.session_state["workspace"] = "bank"
    _ok(at.run())
    assert any("no offers yet" in i.value for i in at.info)
    at.button(key="model_health_run").click().run()
    _ok(at)
    assert any("no transactions yet" in e.value for e in at.error)
    assert not any("No model-health check" in i.value for i in at.info)  # the error says it all
    assert "Grade" not in {m.label for m in at.metric}


def _actor(role: str):
    from crm_core.auth import Actor, Role

    return Actor(role, Role.parse(role))


def test_the_runs_offer_quality_is_shown_with_its_policy(offers_page, page_db, shop):
    ws, run_id = shop
    quality = runs.get_run(page_db, run_id).quality
    at = _ok(offers_page("viewer").run())
    cards = {m.label: m.value for m in at.metric}
    assert cards["Offer quality"] == quality["level"].title()
    assert cards["Pass / review / block"] == f"{quality['pass']:,} / {quality['review']:,} / {quality['block']:,}"
    assert cards["Best offer scores 80+"] == f"{quality['high_score_share']:.0%}"


def test_an_offer_replaced_by_hand_is_not_listed_its_replacement_is(offers_page, page_db, shop):
    from crm_core.auth import Actor, Role
    from crm_core.workflow import edit_offer

    ws, run_id = shop
    table = offer_views.offers_frame(page_db, run_id)
    original = table.iloc[0]
    held = set(table.loc[table["customer_id"] == original["customer_id"], "product_id"])
    other = next(p for p in table["product_id"] if p not in held)
    new_id = edit_offer(page_db, Actor("ann", Role.ANALYST), int(original["offer_id"]), other, reason="better fit")
    ids = offer_views.offers_frame(page_db, run_id)["offer_id"].tolist()
    assert int(original["offer_id"]) not in ids and new_id in ids


@pytest.mark.parametrize("role", ["viewer", "manager"])
def test_the_filtered_offers_can_be_downloaded_and_the_button_follows_the_filters(offers_page, page_db, shop, role):
    ws, run_id = shop
    at = _ok(offers_page(role).run())
    buttons = {b.key: b.label for b in at.get("download_button")}
    assert buttons["offers_download"] == "Download the 120 matching offers (CSV)"
    assert buttons["offers_download_xlsx"] == "Download the 120 matching offers (Excel)"
    at.multiselect(key="offers_scenario").set_value(["CROSS_SELL"]).run()
    matching = offer_views.count_offers(page_db, run_id, scenario="CROSS_SELL")
    assert 0 < matching < 120
    label = {b.key: b.label for b in _ok(at).get("download_button")}["offers_download"]
    assert label == f"Download the {matching:,} matching offers (CSV)"
