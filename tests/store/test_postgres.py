"""The same store on a real PostgreSQL server: migrations, unit of work, audit chain."""

import pytest
from sqlalchemy import func, select

from crm_core.store import Database
from crm_core.store.audit_log import record_event, verify_chain
from crm_core.store.migrate import current_revision, head_revision
from crm_core.store.models import Customer, Workspace

pytestmark = pytest.mark.postgres


def test_postgres_store_round_trip(postgres_url):
    db = Database.open(postgres_url)
    db.upgrade()
    assert current_revision(db) == head_revision()
    with db.unit_of_work() as s:
        ws = Workspace(name="bank", kind="bank", currency="EUR")
        s.add(ws)
        s.flush()
        s.add(Customer(workspace_id=ws.id, customer_code="007"))
        record_event(s, actor="ann", action="test", entity="workspace", entity_id=ws.id)
    with pytest.raises(RuntimeError):
        with db.unit_of_work() as s:
            s.add(Customer(workspace_id=ws.id, customer_code="008"))
            s.flush()
            raise RuntimeError("rollback")
    with db.read() as s:
        assert s.scalars(select(Customer.customer_code)).all() == ["007"]
        assert s.scalar(select(func.count()).select_from(Workspace)) == 1
        assert verify_chain(s) == []
