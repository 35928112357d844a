"""The review-queue tests' sample: the UI sample after two real pipeline runs (gated offers with facts).

Built once per session with :func:`tests.apptest_support.build_template` (the sample of
tests/app/sample_db.py, runs of ``shop`` as of 2023-04-30 and of its last day, both by
the user ``analyst``) and copied for each test (the test module holds the fixtures, so
they never clash with other folders' fixtures of the same name).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from crm_core.store import Database
from tests.apptest_support import LATEST, build_template

FIRST_AS_OF = dt.date(2023, 4, 30)


@dataclass(frozen=True)
class ReviewSample:
    """A test's own copy of the sample with its two runs."""

    db: Database
    shop_id: int
    bank_id: int
    first_run: int
    last_run: int


def build_review_template(path: Path) -> tuple[Path, dict, int, int]:
    """The sample at ``path`` after its two runs: ``(path, workspace ids, first run, last run)``."""
    ids, (first, last) = build_template(path, runs=(FIRST_AS_OF, LATEST))
    return path, ids, first, last


@contextlib.contextmanager
def review_sample_copy(template: tuple[Path, dict, int, int], tmp_path: Path) -> Iterator[ReviewSample]:
    """A test's own copy of the template of :func:`build_review_template`."""
    path, ids, first, last = template
    copy = tmp_path / "review.db"
    shutil.copyfile(path, copy)
    url = f"sqlite:///{copy}"
    db = Database.open(url)
    try:
        yield ReviewSample(db, ids["shop_id"], ids["bank_id"], first, last)
    finally:
        db.engine.dispose()
        Database._open.pop(url, None)
