"""The outcome queries on PostgreSQL: the same conversions, uplift, timeline, evidence and report as on SQLite."""

from __future__ import annotations

import datetime as dt

import pytest

from crm_core.outcomes.attribution import AttributionRule
from crm_core.outcomes.evidence import learning_evidence
from crm_core.outcomes.results import campaign_outcome, compare_sources
from crm_core.reports.content import report_content
from crm_core.reports.workbook import workbook_bytes
from tests.outcomes.builders import EXPORT_DAY, build_world

pytestmark = pytest.mark.postgres
DAY = dt.timedelta(days=1)


def _world(db):
    world = build_world(db)
    for i in range(10):
        world.customer(f"T{i}", "treatment", offered=("P1",) if i % 2 else ("P4",), segment="LOYAL",
                       scenario="WINBACK")
        world.customer(f"H{i}", "holdout", offered=("P1",), segment="LOYAL", scenario="WINBACK")
    for i in range(6):  # day 0, 3, ..., 15: all in the window
        world.sale(f"T{i}", "P1" if i % 2 else "P4", EXPORT_DAY + 3 * i * DAY, 20.0)
    world.sale("T9", "P2", EXPORT_DAY + 2 * DAY, 5.0)  # the offered Mug's family, not the Mug
    world.sale("H0", "P1", EXPORT_DAY + 31 * DAY, 10.0)  # day 31: too late
    world.sale("H1", "P1", EXPORT_DAY + 30 * DAY, 10.0)  # day 30: counts
    return world


@pytest.mark.parametrize("match, treated", [("product", 6), ("family", 7)])
def test_the_same_figures_on_postgresql_and_sqlite(pg_db, db, match, treated):
    rule = AttributionRule(match=match)
    results = []
    for database in (pg_db, db):
        world = _world(database)
        outcome = campaign_outcome(database, world.campaign_id, rule=rule)
        table = outcome.table()
        results.append((table.drop(columns=["verdict"]).round(9).to_dict("records"), outcome.verdict,
                        outcome.timeline[["day", "group", "cumulative"]].values.tolist(),
                        compare_sources(database, world.campaign_id, rule=rule).to_dict("records"),
                        [(g.by, g.n, g.conversions) for g in learning_evidence(database, world.workspace_id,
                                                                               rule=rule).by_scenario.groups],
                        report_content(database, world.run_id, rule=rule).funnel.values.tolist()))
        workbook_bytes(report_content(database, world.run_id, rule=rule))
    assert results[0] == results[1]
    row = results[0][0][0]
    assert (row["treatment_conversions"], row["control_conversions"]) == (treated, 1)
