"""The app's daily backup: made at the first start, once a day after, in the folder the saved settings name."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

from app.daily_backup import backup_if_due
from crm_core.services.settings_store import save_settings

DAY = dt.date(2031, 5, 6)


def _daily(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.glob("*-daily-*.db")) if folder.is_dir() else []


def test_the_first_start_of_the_app_makes_todays_backup(app_test, app_db):
    folder = Path(app_db.db.url.removeprefix("sqlite:///")).parent / "data" / "backups"
    at = app_test("app/main.py", "analyst").run()
    assert not at.exception
    deadline = time.monotonic() + 30
    while not _daily(folder) and time.monotonic() < deadline:  # the backup runs in its own thread
        time.sleep(0.2)
    assert _daily(folder) == [f"app-daily-{dt.date.today():%Y-%m-%d}.db"]


def test_a_backup_is_made_once_per_day_where_the_settings_say(app_db, tmp_path, admin):
    folder = tmp_path / "elsewhere"
    save_settings(app_db.db, admin, {"operations": {"backup_folder": str(folder), "backup_keep": 2}},
                  note="backups on the other disk")
    assert backup_if_due(app_db.db, None, DAY) == DAY
    assert _daily(folder) == [f"app-daily-{DAY:%Y-%m-%d}.db"]
    (folder / f"app-daily-{DAY:%Y-%m-%d}.db").unlink()
    assert backup_if_due(app_db.db, DAY, DAY) == DAY and _daily(folder) == []  # same day: not looked at again
    for offset in (1, 2, 3):
        day = DAY + dt.timedelta(days=offset)
        assert backup_if_due(app_db.db, day - dt.timedelta(days=1), day) == day
    assert _daily(folder) == ["app-daily-2031-05-08.db", "app-daily-2031-05-09.db"]  # the newest 2 kept


def test_a_failed_backup_is_logged_and_tried_again_later(app_db, tmp_path, admin, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    save_settings(app_db.db, admin, {"operations": {"backup_folder": str(shared)}}, note="a folder others can read")
    assert backup_if_due(app_db.db, None, DAY) is None
    assert "the daily backup of sqlite:///" in caplog.text and "can be read by other users" in caplog.text
    assert list(shared.iterdir()) == []

