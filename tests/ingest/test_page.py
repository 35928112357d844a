"""AppTest of the Import page: upload, preview, change a mapping, confirm, read the report."""

from __future__ import annotations

from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from crm_core.auth import SYSTEM_CLI
from crm_core.store import Database
from crm_core.store.db import ENV_URL
from tests.apptest_support import log_in_session
from tests.ingest.conftest import BAD, stored_transactions

ROOT = Path(__file__).resolve().parents[2]


class FakeUpload:
    """What st.file_uploader returns, for a file given as bytes."""

    def __init__(self, data: bytes, name: str):
        self._data, self.name, self.file_id, self.size = data, name, f"id-{name}-{len(data)}", len(data)

    def getvalue(self) -> bytes:
        return self._data


@pytest.fixture
def page(tmp_path, monkeypatch):
    from crm_core.auth import passwords
    from crm_core.auth.users import create_user

    url = f"sqlite:///{tmp_path / 'app.db'}"
    monkeypatch.setenv(ENV_URL, url)
    monkeypatch.setattr(passwords, "BCRYPT_ROUNDS", 4)
    db = Database.open(url)
    db.upgrade()
    create_user(db, SYSTEM_CLI, "ann", "analyst", password="a-long-test-password-1")
    uploads = {}
    monkeypatch.setattr(st, "file_uploader", lambda *a, **k: uploads.get("file"))

    def make(data: bytes | None = None, name: str = "export.csv") -> AppTest:
        uploads["file"] = None if data is None else FakeUpload(data, name)
        at = AppTest.from_file(str(ROOT / "pages" / "import_data.py"), default_timeout=30)
        return log_in_session(at, "analyst", "ann")

    yield make, db
    db.engine.dispose()


def test_upload_preview_map_and_confirm(page):
    make, db = page
    at = make("kd;datum;wert\n1;13.01.2024;5,5\n2;14.01.2024;6\n".encode(), "sales.csv").run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.title[0].value == "Import data"
    preview = at.dataframe[0].value
    assert preview.columns.tolist() == ["kd", "datum", "wert"] and len(preview) == 2
    assert any("Still missing" in w.value for w in at.warning)
    assert at.button(key="import_confirm").disabled
    at.selectbox(key="import_map_transactions_customer_id").set_value("kd")
    at.selectbox(key="import_map_transactions_amount").set_value("wert")
    at.run()
    assert not any("Still missing" in w.value for w in at.warning)
    at.button(key="import_confirm").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2 of 2 rows loaded" in s.value for s in at.success)
    assert stored_transactions(db)["amount_minor"].tolist() == [550, 600]


def test_ambiguous_dates_ask_for_a_format_and_rejects_ask_for_confirmation(page):
    make, db = page
    at = make((BAD / "ambiguous_dates.csv").read_bytes(), "amb.csv").run()
    assert any("day-first or month-first" in w.value for w in at.warning)
    assert at.button(key="import_confirm").disabled
    at.selectbox(key="import_date_format").set_value("MDY").run()
    assert not at.button(key="import_confirm").disabled

    at = make((BAD / "too_many_rejects.csv").read_bytes(), "rej.csv").run()
    at.button(key="import_confirm").click().run()
    assert any("would be rejected" in w.value for w in at.warning)
    assert len(at.dataframe[-1].value) == 2
    assert stored_transactions(db).empty
    at.button(key="import_accept_rejects").click().run()
    assert any("2 of 4 rows loaded" in s.value for s in at.success)
    assert len(stored_transactions(db)) == 2


def test_a_bad_file_shows_an_error_not_a_traceback(page):
    make, _ = page
    at = make((BAD / "binary_junk.csv").read_bytes(), "junk.csv").run()
    assert not at.exception
    assert any("binary data" in e.value for e in at.error)
