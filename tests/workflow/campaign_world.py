"""The world of the campaign and export tests: the UI sample after one real pipeline run, with offers approved
by SQL (the review queue is someone else's module), consent planted per customer, and readers of export files.

The sample (tests/app/sample_db.py) has 40 customers ``C0000``..``C0039`` across eleven RFM segments, and
the run gives each three offers, all PASS (no customer file: consent unknown). A template is built once per
session; :func:`world_from` copies it for one test.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import select, text

from crm_core.auth import Actor, Role
from crm_core.store import Database
from crm_core.store.models import Customer, CustomerAttribute, Pitch
from tests.apptest_support import LATEST, build_template

ANALYST = Actor("ann", Role.ANALYST)
MANAGER = Actor("max", Role.MANAGER)
APPROVED_AT = dt.datetime(2024, 4, 2, 10, 30)


@dataclass(frozen=True)
class World:
    """One test's copy of the sample after one run."""

    url: str
    db: Database
    shop_id: int
    run_id: int


@pytest.fixture(scope="session")
def campaign_template(tmp_path_factory) -> tuple[Path, int, int]:
    """(template file, shop id, run id), built once per session."""
    path = tmp_path_factory.mktemp("campaign_sample") / "template.db"
    ids, (run_id,) = build_template(path, runs=[LATEST])
    return path, ids["shop_id"], run_id


def world_from(template: tuple[Path, int, int], folder: Path, name: str = "world.db") -> World:
    """A fresh copy of the template in ``folder``."""
    path, shop_id, run_id = template
    copy = folder / name
    shutil.copyfile(path, copy)
    url = f"sqlite:///{copy}"
    return World(url, Database.open(url), shop_id, run_id)


def close(world: World) -> None:
    """Dispose the copy's engine (the file stays)."""
    world.db.engine.dispose()
    Database._open.pop(world.url, None)


@pytest.fixture
def world(campaign_template, tmp_path) -> World:
    """A fresh copy of the one-run sample."""
    w = world_from(campaign_template, tmp_path)
    yield w
    close(w)


def sql(db: Database, statement: str, **params) -> list:
    """Run one SQL statement in a unit of work; rows for a SELECT."""
    with db.unit_of_work() as s:
        result = s.execute(text(statement), params)
        return result.all() if result.returns_rows else []


def approve(db: Database, where: str = "1=1", **params) -> list[int]:
    """Approve the offers matching ``where`` as the manager ``max`` would; returns their ids, in order."""
    sql(db, f"UPDATE offers SET state = 'approved', decided_by = 'max', decided_at = :at, version = version + 1 "
            f"WHERE {where}", at=APPROVED_AT, **params)
    return [r[0] for r in sql(db, f"SELECT id FROM offers WHERE state = 'approved' AND ({where}) ORDER BY id",
                              **params)]


def offer_ids(db: Database, where: str = "1=1", **params) -> list[int]:
    """Ids of the offers matching ``where``, in order."""
    return [r[0] for r in sql(db, f"SELECT id FROM offers WHERE {where} ORDER BY id", **params)]


def customer_pk(db: Database, code: str) -> int:
    """The key of the customer with this code."""
    with db.read() as s:
        return s.scalar(select(Customer.id).where(Customer.customer_code == code))


def set_attribute(db: Database, shop_id: int, code: str, attribute: str, value: str,
                  effective_from: dt.datetime) -> None:
    """Add a dated value (email_opt_in, do_not_contact...) for one customer."""
    pk = customer_pk(db, code)
    with db.unit_of_work() as s:
        s.add(CustomerAttribute(workspace_id=shop_id, customer_id=pk, attribute=attribute, value=value,
                                effective_from=effective_from))


def add_pitch(db: Database, shop_id: int, offer_id: int, version: int, subject: str, body: str,
              source: str = "template") -> None:
    """Save a pitch version for an offer."""
    with db.unit_of_work() as s:
        s.add(Pitch(workspace_id=shop_id, offer_id=offer_id, version=version, subject=subject, text=body,
                    source=source, created_by="ann"))


def utc_now_naive() -> dt.datetime:
    """Now in UTC, without a time zone (how dated attributes are stamped)."""
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def csv_rows(path: Path) -> list[dict]:
    """The rows of an exported CSV as dicts of text."""
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def csv_cells(path: Path) -> list[str]:
    """Every cell of an exported CSV (header included)."""
    return [cell for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")) for cell in row]


def sheet_formulas(path: Path) -> int:
    """How many formula elements (``<f>``) the sheets of a workbook hold."""
    with zipfile.ZipFile(path) as book:
        return sum(len(re.findall(rb"<f[\s>/]", book.read(name)))
                   for name in book.namelist() if name.startswith("xl/worksheets/"))


def sheet_rows(path: Path, sheet: str) -> list[dict]:
    """The rows of one sheet of a workbook as dicts (values as openpyxl reads them)."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    rows = list(book[sheet].iter_rows(values_only=True))
    book.close()
    header = rows[0]
    return [dict(zip(header, r)) for r in rows[1:]]
