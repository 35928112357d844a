"""The daily automatic backup of the app's database, made in the background by the app's own process.

``app/main.py``'s first start calls :func:`start_daily_backups` once per process
and database. Its thread makes today's backup at once
(:func:`crm_core.services.backup.ensure_daily_backup`, a no-op when today's file
is there, whichever process wrote it), then looks again every hour and acts
only when the date has changed since its last backup: a server left running
for a week makes one a day, and nobody waits for it on a page. The folder and
how many are kept come from the saved settings (``[operations]``) at each
backup. A failure is logged (the Admin page shows the log) and tried again an
hour later; it never reaches a page.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time

from crm_core.services.backup import backup_folder, ensure_daily_backup
from crm_core.services.settings_store import active_settings

log = logging.getLogger(__name__)
CHECK_EVERY_SECONDS = 3600
_threads: dict[str, threading.Thread] = {}
_lock = threading.Lock()


def start_daily_backups(db) -> threading.Thread:
    """Start (once per process and database URL) the thread that backs ``db`` up once a day."""
    with _lock:
        thread = _threads.get(db.url)
        if thread is None or not thread.is_alive():
            thread = threading.Thread(target=_every_day, args=(db,), daemon=True, name="nextbest-daily-backup")
            _threads[db.url] = thread
            thread.start()
        return thread


def backup_if_due(db, last_day: dt.date | None, today: dt.date) -> dt.date | None:
    """Make today's backup when ``today`` is not ``last_day``; returns the day now covered (``last_day`` on failure)."""
    if today == last_day:
        return last_day
    try:
        config, _ = active_settings(db)
        ops = config.operations
        made = ensure_daily_backup(db, backup_folder(db, ops), ops.backup_keep, today=today)
    except Exception:  # a background thread: log it, try again later, never crash the app
        log.exception("the daily backup of %s failed; trying again in %d s", _masked(db.url), CHECK_EVERY_SECONDS)
        return last_day
    if made is not None:
        log.info("daily backup made: %s", made)
    return today


def _every_day(db) -> None:
    last_day = None
    while True:
        last_day = backup_if_due(db, last_day, dt.date.today())
        time.sleep(CHECK_EVERY_SECONDS)


def _masked(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)
