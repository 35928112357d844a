"""AppTest: each issue-4 page draws for every role that may see it (with runs stored), and refuses the others."""

from __future__ import annotations

import pytest

from crm_core.auth import Role

PAGES = {"run_pipeline.py": Role.ANALYST, "segments.py": Role.VIEWER, "customer.py": Role.VIEWER,
         "compare_runs.py": Role.VIEWER}
ALLOWED = [(page, role) for page, least in PAGES.items() for role in Role if role >= least]
TITLES = {"run_pipeline.py": "Run pipeline", "segments.py": "Segments", "customer.py": "Customer 360",
          "compare_runs.py": "Compare runs"}


@pytest.mark.parametrize(("page", "role"), ALLOWED, ids=[f"{p}-{r.label}" for p, r in ALLOWED])
def test_page_draws_for_allowed_role(page_test, page, role):
    at = page_test(f"pages/{page}", role)
    at.session_state["customer_id"] = "C0003"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert [e.value for e in at.error] == []
    assert [t.value for t in at.title] == [TITLES[page]]


def test_viewer_cannot_open_the_run_page(page_test):
    at = page_test("pages/run_pipeline.py", "viewer").run()
    assert any("needs the analyst role" in e.value for e in at.error)
    assert "run_start" not in [b.key for b in at.button]
