"""The page registry: which pages exist, where, and the least role that may see each.

Plain data (no streamlit) so that tests can check who sees what without a
browser. ``app/main.py`` turns it into ``st.navigation``; each page also
calls ``app.shell.guard`` with the same role, because navigation alone does
not stop a session from running a page script.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from crm_core.auth import Role

ROOT = Path(__file__).resolve().parents[1]
PAGES_DIR = ROOT / "pages"


@dataclass(frozen=True)
class PageSpec:
    """One page of the app."""

    file: str  # file name under pages/
    title: str
    icon: str
    min_role: Role
    section: str
    default: bool = False

    @property
    def path(self) -> Path:
        """Absolute path of the page script."""
        return PAGES_DIR / self.file

    @property
    def url_path(self) -> str:
        """The page's address: the file name without ``.py`` (``/customer?customer_id=...``)."""
        return self.file.removesuffix(".py")


PAGES: tuple[PageSpec, ...] = (
    PageSpec("overview.py", "Overview", ":material/dashboard:", Role.VIEWER, "Insights", default=True),
    PageSpec("segments.py", "Segments", ":material/donut_small:", Role.VIEWER, "Insights"),
    PageSpec("customer.py", "Customer 360", ":material/person_search:", Role.VIEWER, "Insights"),
    PageSpec("compare_runs.py", "Compare runs", ":material/compare_arrows:", Role.VIEWER, "Insights"),
    PageSpec("offers.py", "Offers", ":material/local_offer:", Role.VIEWER, "Offers"),
    PageSpec("campaigns.py", "Campaigns", ":material/campaign:", Role.ANALYST, "Offers"),
    PageSpec("review.py", "Review queue", ":material/fact_check:", Role.MANAGER, "Offers"),
    PageSpec("outcomes.py", "Outcomes", ":material/trending_up:", Role.VIEWER, "Offers"),
    PageSpec("data.py", "Data", ":material/database:", Role.VIEWER, "Data"),
    PageSpec("customers.py", "Duplicates", ":material/group:", Role.ANALYST, "Data"),
    PageSpec("import_data.py", "Import data", ":material/upload_file:", Role.ANALYST, "Data"),
    PageSpec("run_pipeline.py", "Run pipeline", ":material/play_circle:", Role.ANALYST, "Data"),
    PageSpec("admin.py", "Admin", ":material/admin_panel_settings:", Role.ADMIN, "Admin"),
    PageSpec("settings.py", "Settings", ":material/tune:", Role.ADMIN, "Admin"),
)


def pages_for(role: Role) -> list[PageSpec]:
    """The pages ``role`` may see, in menu order."""
    return [p for p in PAGES if role >= p.min_role]


def page_spec(file: str) -> PageSpec:
    """The spec of ``pages/<file>`` (KeyError naming the known pages when there is none)."""
    for p in PAGES:
        if p.file == file:
            return p
    raise KeyError(f"No page {file!r}; known: {', '.join(p.file for p in PAGES)}")
