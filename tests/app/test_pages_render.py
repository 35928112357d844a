"""AppTest: every page renders for every role that may see it, and for no other."""

from __future__ import annotations

import pytest

from app.navigation import PAGES, pages_for
from crm_core.auth import Role

ALLOWED = [(spec.file, role) for spec in PAGES for role in Role if role >= spec.min_role]
REFUSED = [(spec.file, role) for spec in PAGES for role in Role if role < spec.min_role]


def _errors(at) -> list[str]:
    return [e.value for e in at.error]


@pytest.mark.parametrize(("page", "role"), ALLOWED, ids=[f"{p}-{r.label}" for p, r in ALLOWED])
def test_page_renders_for_allowed_role(app_test, page, role):
    at = app_test(f"pages/{page}", role)
    at.session_state["workspace"] = "shop"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert not _errors(at)
    assert at.title, "every page has a title"


@pytest.mark.parametrize(("page", "role"), REFUSED, ids=[f"{p}-{r.label}" for p, r in REFUSED])
def test_page_refuses_lower_role_when_run_directly(app_test, page, role):
    at = app_test(f"pages/{page}", role).run()
    assert not at.exception
    assert any(f"needs the {page_min(page).label} role" in e for e in _errors(at))
    assert not at.title, "nothing of the page is drawn after the refusal"


def page_min(file: str) -> Role:
    return next(p.min_role for p in PAGES if p.file == file)


@pytest.mark.parametrize("page", [spec.file for spec in PAGES])
def test_page_refuses_session_without_login(app_test, page):
    at = app_test(f"pages/{page}", None).run()
    assert not at.exception
    assert any("not logged in" in e for e in _errors(at))
    assert not at.title


def test_deactivated_user_session_is_refused(app_test, app_db, admin):
    from crm_core.auth.users import deactivate_user

    deactivate_user(app_db.db, admin, "analyst")
    at = app_test("pages/overview.py", "analyst").run()
    assert any("not logged in" in e for e in _errors(at))


def test_navigation_lists_only_the_role_pages():
    assert "admin.py" not in [p.file for p in pages_for(Role.VIEWER)]
    assert "import_data.py" not in [p.file for p in pages_for(Role.VIEWER)]
    assert "import_data.py" in [p.file for p in pages_for(Role.ANALYST)]
    assert [p.file for p in pages_for(Role.ADMIN)] == [p.file for p in PAGES]
    assert sum(p.default for p in PAGES) == 1


def test_viewer_cannot_switch_to_admin_page_through_navigation(app_test):
    at = app_test("app/main.py", "viewer").run()
    assert [t.value for t in at.title] == ["Overview"]
    with pytest.raises(ValueError):  # the admin page is not registered for a viewer
        at.switch_page("../pages/admin.py")


def test_admin_page_url_falls_back_to_overview_for_a_viewer(app_test):
    # An admin opens the Admin page; the same session is then a viewer's (e.g. role
    # changed, or a crafted session): the Admin URL must no longer show the page.
    at = app_test("app/main.py", "admin").run()
    at.switch_page("../pages/admin.py").run()
    assert [t.value for t in at.title] == ["Admin"]
    at.session_state["username"] = "viewer"
    at.run()
    assert "Admin" not in [t.value for t in at.title]
    assert "admin_user" not in [s.key for s in at.selectbox]
    assert not at.exception


def test_analyst_navigation_reaches_import_page(app_test):
    at = app_test("app/main.py", "analyst").run()
    at.switch_page("../pages/import_data.py").run()
    assert not at.exception
    assert not _errors(at)


def test_every_page_file_is_registered_and_guarded():
    from app.navigation import PAGES_DIR

    files = sorted(p.name for p in PAGES_DIR.glob("*.py") if not p.name.startswith("_"))
    assert files == sorted(spec.file for spec in PAGES), "a page in pages/ must be listed in app/navigation.py"
    for spec in PAGES:
        source = spec.path.read_text(encoding="utf-8")
        assert "guard_page(" in source or "guard(" in source, f"{spec.file} must call app.shell.guard first"
