"""The UI sample (tests/app/sample_db.py) with consent on file, run once through the real pipeline.

Consent (effective 2022-01-01, so it holds at any contact date): every customer
opted in, except ``OPTED_OUT`` (opted out: an ERROR under every policy) and
``UNKNOWN_CONSENT`` (no attribute at all: a WARN under standard, an ERROR
under strict). The template is built once per test process; each test gets
its own copy of the file.
"""

from __future__ import annotations

import datetime as dt
import functools
import shutil
import tempfile
from pathlib import Path

import pytest
from sqlalchemy import select

from crm_core.auth import Actor, Role
from crm_core.config import Config
from crm_core.store import Database
from crm_core.store.models import AuditEvent, Customer, CustomerAttribute, Offer
from tests.apptest_support import cheap_bcrypt

OPTED_OUT, UNKNOWN_CONSENT = "C0003", "C0007"
CONTACT_DATE = dt.date(2024, 4, 2)
ON_FILE_SINCE = dt.datetime(2022, 1, 1)


def build_gated(url: str, *, with_users: bool = True) -> tuple[dict, int]:
    """Build the gated sample at ``url`` (any database); returns ``(workspace ids, run id)``."""
    from crm_core.services.pipeline import run_pipeline
    from crm_core.views.workspaces import get_workspace
    from tests.app.sample_db import build_sample_database

    with cheap_bcrypt():
        ids = build_sample_database(url, with_users=with_users)
    db = Database.open(url)
    with db.unit_of_work() as s:
        for pk, code in s.execute(select(Customer.id, Customer.customer_code)
                                  .where(Customer.workspace_id == ids["shop_id"])).all():
            if code == UNKNOWN_CONSENT:
                continue
            s.add(CustomerAttribute(workspace_id=ids["shop_id"], customer_id=pk, attribute="email_opt_in",
                                    value="false" if code == OPTED_OUT else "true", effective_from=ON_FILE_SINCE))
    run = run_pipeline(db, get_workspace(db, "shop"), Actor("analyst", Role.ANALYST), Config(),
                       contact_date=CONTACT_DATE)
    return ids, run.run_id


@functools.lru_cache(maxsize=1)
def template() -> tuple[Path, dict, int]:
    """``(path, workspace ids, run id)`` of the gated sample as a SQLite file, built once per process."""
    path = Path(tempfile.mkdtemp(prefix="nextbest-gated-")) / "gated.db"
    url = f"sqlite:///{path}"
    ids, run_id = build_gated(url)
    Database.open(url).engine.dispose()
    Database._open.pop(url, None)
    return path, ids, run_id


@pytest.fixture
def gated(tmp_path):
    """``(db, shop workspace id, run id)`` on a fresh copy of the gated sample."""
    source, ids, run_id = template()
    path = tmp_path / "gated.db"
    shutil.copyfile(source, path)
    url = f"sqlite:///{path}"
    db = Database.open(url)
    yield db, ids["shop_id"], run_id
    db.engine.dispose()
    Database._open.pop(url, None)


def offers_by_id(db) -> dict[int, dict]:
    """Every offer as a dict of its columns, by id."""
    with db.read() as s:
        rows = s.execute(select(Offer.__table__)).mappings().all()
    return {r["id"]: dict(r) for r in rows}


def offers_of(db, customer_code: str) -> list[int]:
    """Ids of the customer's offers."""
    with db.read() as s:
        return list(s.scalars(select(Offer.id).join(Customer, Customer.id == Offer.customer_id)
                              .where(Customer.customer_code == customer_code).order_by(Offer.id)))


def set_state(db, offer_id: int, state: str) -> None:
    """Move an offer to ``state`` directly (as a decision would have), version + 1."""
    with db.unit_of_work() as s:
        s.execute(Offer.__table__.update().where(Offer.id == offer_id)
                  .values(state=state, decided_by="max", version=Offer.version + 1))


def events(db, action: str) -> list[dict]:
    """The audit events of one action (their columns), oldest first."""
    with db.read() as s:
        rows = s.execute(select(AuditEvent.__table__).where(AuditEvent.action == action)
                         .order_by(AuditEvent.id)).mappings().all()
    return [dict(r) for r in rows]
