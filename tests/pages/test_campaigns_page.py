"""The Campaigns page per role: viewers are refused, analysts build, managers export and download."""

from __future__ import annotations

import io
import zipfile

from sqlalchemy import select, text

from crm_core.auth import Actor, Role
from crm_core.store.models import CampaignOffer, Offer
from crm_core.views.campaigns import campaign_info, list_campaigns
from crm_core.workflow import create_campaign

PAGE = "pages/campaigns.py"


def _approve_latest_run(runs_app, where: str = "1=1") -> list[int]:
    with runs_app.db.unit_of_work() as s:
        s.execute(text(f"UPDATE offers SET state = 'approved', decided_by = 'manager' WHERE run_id = :run AND {where}"),
                  {"run": runs_app.last_run})
        return list(s.scalars(text("SELECT id FROM offers WHERE run_id = :run AND state = 'approved' ORDER BY id"),
                              {"run": runs_app.last_run}))


def _exported_offers(runs_app) -> int:
    """How many offers of the database are exported."""
    with runs_app.db.read() as s:
        return len(s.execute(text("SELECT id FROM offers WHERE state = 'exported'")).all())


def test_a_viewer_is_refused(runs_app, page_test):
    at = page_test(PAGE, "viewer").run()
    assert not at.exception
    assert "needs the analyst role" in at.error[0].value
    assert not at.button


def test_an_analyst_builds_a_campaign_from_the_filtered_approved_offers_but_cannot_export(runs_app, page_test):
    approved = _approve_latest_run(runs_app, "id % 2 = 0")
    at = page_test(PAGE, "analyst").run()
    assert not at.exception
    at.selectbox(key="campaign_run").set_value(runs_app.last_run).run()
    scenario = at.multiselect(key="campaign_scenario").options[0]
    at.multiselect(key="campaign_scenario").set_value([scenario]).run()
    at.text_input(key="campaign_name").input("Spring [winback](http://evil.example)")
    at.slider(key="campaign_holdout_pct").set_value(20)
    at.button(key="campaign_create").click().run()
    assert not at.exception and not at.error
    campaigns = list_campaigns(runs_app.db, runs_app.shop_id)
    assert len(campaigns) == 1
    info = campaign_info(runs_app.db, int(campaigns["campaign_id"][0]))
    assert (info.created_by, info.holdout_share, info.run_id) == ("analyst", 0.2, runs_app.last_run)
    assert info.selection["built_from"]["scenario"] == [scenario]
    with runs_app.db.read() as s:
        taken = set(s.scalars(select(CampaignOffer.offer_id)))
        scenarios = set(s.scalars(select(Offer.scenario).where(Offer.id.in_(taken)).distinct()))
    assert taken <= set(approved) and scenarios == {scenario}
    markdown = " ".join(m.value for m in at.markdown)
    assert "Spring \\[winback\\]\\(http" in markdown  # the name is shown literally, not as a link
    assert not [b for b in at.button if b.key == "campaign_export"]
    assert "A manager exports campaigns." in " ".join(c.value for c in at.caption)


def test_a_manager_exports_and_gets_both_files(runs_app, page_test):
    ids = _approve_latest_run(runs_app)
    campaign_id = create_campaign(runs_app.db, Actor("analyst", Role.ANALYST), "To export", ids, holdout_share=0.25)
    at = page_test(PAGE, "manager").run()
    assert not at.exception
    at.selectbox(key="campaign_pick").set_value(campaign_id).run()
    at.button(key="campaign_export").click().run()
    assert not at.exception and not at.error
    info = campaign_info(runs_app.db, campaign_id)
    assert (info.state, info.exported_by) == ("exported", "manager")
    downloads = {b.key: b.label for b in at.get("download_button")}
    assert downloads == {"campaign_download_csv": "Download CSV", "campaign_download_xlsx": "Download Excel"}
    assert at.success and at.success[0].value.startswith("Exported ")
    files = at.session_state["_campaign_export_files"]
    assert files["csv"].startswith(b"customer_id,first_name,last_name,email,phone,product_id")
    with zipfile.ZipFile(io.BytesIO(files["xlsx"])) as book:
        assert b'name="Evidence"' in book.read("xl/workbook.xml")
    evidence = next(d.value for d in at.dataframe if "approved_by" in d.value.columns)
    assert set(evidence["approved_by"]) == {"manager"} and len(evidence) == _exported_offers(runs_app)
    held = int(list_campaigns(runs_app.db, runs_app.shop_id)["holdout"][0])
    assert held == round(0.25 * 40) and "Download the files again" in [b.label for b in at.button]


def test_an_analyst_sees_why_nothing_can_go_into_a_campaign(runs_app, page_test):
    at = page_test(PAGE, "analyst").run()
    assert not at.exception
    assert any("No offer of this run can go into a campaign" in i.value for i in at.info)
    assert any("No campaign yet" in i.value for i in at.info)


def test_an_analyst_can_draft_the_pitches_of_a_campaign_not_yet_exported(runs_app, page_test):
    approved = _approve_latest_run(runs_app)
    campaign_id = create_campaign(runs_app.db, Actor("analyst", Role.ANALYST), "Pitched", approved[:3])
    at = page_test(PAGE, "analyst")
    at.session_state["campaign_pick"] = campaign_id
    at.run()
    assert not at.exception
    assert [b for b in at.button if b.key == "campaign_batch_start"]
