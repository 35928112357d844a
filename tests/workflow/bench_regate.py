"""Benchmark (not a test): re-gating a workspace of N undecided offers when its policy changes.

Run: .venv/bin/python tests/workflow/bench_regate.py [OFFERS] [--postgres]

Builds one workspace with one run of OFFERS offers (three per customer) whose
stored facts are drawn with a fixed seed (consent known or not, opted out,
scores, purchase history, margins: a realistic spread of flag combinations),
then times, on SQLite (or a throwaway PostgreSQL server):

- ``standard -> strict``: set_active_policy re-gates every offer (all change policy);
- ``strict again``: every offer judged, none written;
- ``one offer's pitch``: regate_offers of one offer with fact updates.
"""

from __future__ import annotations

import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))


def _facts(n: int, rng: np.random.Generator) -> list[str]:
    """Stored facts (JSON text, as a run stores them) for ``n`` offers."""
    from crm_core.gate import facts_column

    known = rng.random(n) < 0.9
    frame = pd.DataFrame({
        "scenario": pd.array(rng.choice(["REBUY", "CROSS_SELL", "UPSELL", "WINBACK", "NURTURE"], n), dtype="string"),
        "score": rng.random(n),
        "email_opt_in": pd.array(np.where(known, rng.random(n) < 0.88, None), dtype="boolean"),
        "do_not_contact": pd.array(np.where(known, rng.random(n) < 0.02, None), dtype="boolean"),
        "consent_known": known, "last_contacted_at": pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]"),
        "days_since_contact": np.where(rng.random(n) < 0.3, rng.integers(0, 200, n), np.nan),
        "held": rng.random(n) < 0.01, "days_since_bought": np.where(rng.random(n) < 0.4, rng.integers(1, 400, n),
                                                                     np.nan),
        "repurchase_days": rng.integers(20, 200, n).astype(float), "product_active": rng.random(n) < 0.99,
        "price": rng.uniform(2, 200, n).round(2), "price_source": pd.array(["catalog"] * n, dtype="string"),
        "basket": rng.uniform(10, 150, n).round(2), "purchases": rng.integers(1, 30, n),
        "days_since_first": rng.integers(1, 900, n).astype(float),
        "days_since_last_line": rng.integers(1, 500, n).astype(float), "margin_rate": rng.uniform(0, 0.6, n),
        "days_since_exported": np.nan, "has_pitch": rng.random(n) < 0.1,
        "pitch_failures": pd.array(np.where(rng.random(n) < 0.02, "PITCH_URL", ""), dtype="string"),
    })
    from crm_core.store.run_store import _facts_json

    return _facts_json(facts_column(frame))


def build(db, offers: int) -> int:
    """One workspace, one run, ``offers`` pending offers with stored facts; returns the workspace id."""
    from sqlalchemy import insert, select

    from crm_core.config import Config
    from crm_core.store.bulk import stored_time
    from crm_core.store.models import Customer, PipelineRun, Product, Workspace, utc_now

    rng = np.random.default_rng(20261202)
    customers = -(-offers // 3)
    with db.unit_of_work() as s:
        ws = Workspace(name="bench")
        s.add(ws)
        s.flush()
        run = PipelineRun(workspace_id=ws.id, run_uuid="bench", status="succeeded", as_of=pd.Timestamp("2024-03-28"),
                          config_json=Config().to_dict(), config_hash="c", data_hash="d", created_by="bench")
        s.add(run)
        s.execute(insert(Product.__table__), [{"workspace_id": ws.id, "product_code": f"P{i:03d}", "name": f"P{i}",
                                                "family": f"F{i % 7}"} for i in range(40)])
        s.execute(insert(Customer.__table__), [{"workspace_id": ws.id, "customer_code": f"C{i:07d}"}
                                                for i in range(customers)])
        s.flush()
        cust = s.scalars(select(Customer.id).where(Customer.workspace_id == ws.id).order_by(Customer.id)).all()
        prod = s.scalars(select(Product.id).where(Product.workspace_id == ws.id)).all()
        facts = _facts(offers, rng)
        created = stored_time(s.connection(), utc_now())
        rows = [{"workspace_id": ws.id, "run_id": run.id, "customer_id": cust[i // 3], "product_id": prod[i % 40],
                 "rank": i % 3 + 1, "scenario": "CROSS_SELL", "score": 0.5, "components_json": "{}",
                 "explanation_code": "X", "explanation_params_json": "{}", "gate": "PASS", "audit_score": 98,
                 "flags": "NO_PITCH", "state": "pending", "submitted_by": "bench", "version": 1, "origin": "engine",
                 "policy_name": "standard", "policy_version": 1, "facts_json": facts[i], "created_at": created}
                for i in range(offers)]
        import sqlalchemy as sa
        target = sa.table("offers", *[sa.column(c) for c in rows[0]])  # untyped: the JSON goes in as text
        for start in range(0, offers, 10_000):
            s.execute(sa.insert(target), rows[start:start + 10_000])
        return ws.id


def main(offers: int = 100_000, postgres: bool = False) -> dict:
    from crm_core.auth import Actor, Role
    from crm_core.store import Database
    from crm_core.workflow.policies import set_active_policy
    from crm_core.workflow.regate import regate_offers

    admin = Actor("ada", Role.ADMIN)
    server = None
    with tempfile.TemporaryDirectory() as tmp:
        import os
        os.environ.setdefault("NEXTBEST_AUDIT_KEY_FILE", str(Path(tmp) / "audit_key"))
        if postgres:
            from tests.pg_server import PostgresServer, find_bin
            server = PostgresServer(find_bin()).start()
            url = server.url
        else:
            url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        try:
            db = Database.open(url)
            db.upgrade()
            ws = build(db, offers)
            figures = {"offers": offers, "database": "postgresql" if postgres else "sqlite"}
            t0 = time.perf_counter()
            first = set_active_policy(db, admin, ws, "strict")
            figures["standard -> strict (s)"] = round(time.perf_counter() - t0, 2)
            figures["changed"], figures["gates after"] = first.changed, first.gates_after
            t0 = time.perf_counter()
            again = set_active_policy(db, admin, ws, "strict")
            figures["strict again, nothing written (s)"] = round(time.perf_counter() - t0, 2)
            assert again.changed == 0
            t0 = time.perf_counter()
            with db.unit_of_work() as s:
                regate_offers(s, [1], fact_updates={1: {"has_pitch": True, "pitch_failures": "PITCH_URL"}})
            figures["one offer's pitch (s)"] = round(time.perf_counter() - t0, 3)
            db.engine.dispose()
        finally:
            if server is not None:
                server.stop()
    return figures


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    print(json.dumps(main(int(args[0]) if args else 100_000, "--postgres" in sys.argv), indent=2))
