"""The CLI contract of `python -m crm_core run`, on the shipped demo sample."""

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "data" / "samples" / "retail_transactions.csv"
CUSTOMER_COLUMNS = ["customer_id", "first_purchase", "last_purchase", "recency_days", "frequency", "monetary",
                    "r_score", "f_score", "m_score", "rfm_segment", "cluster", "persona", "expected_purchases",
                    "clv", "p_alive", "churn_risk"]
OFFER_COLUMNS = ["customer_id", "rank", "product_id", "scenario", "score", "explanation", "audit_score", "gate",
                 "flags"]


def _run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "crm_core", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    outs = []
    for tag in "ab":
        out = tmp_path_factory.mktemp(f"run-{tag}")
        p = _run("run", "--transactions", str(SAMPLE), "--out", str(out), "--quiet")
        assert p.returncode == 0, p.stderr
        outs.append(out)
    return outs


def test_run_writes_the_three_files_with_contract_columns(two_runs):
    out = two_runs[0]
    cust = pd.read_csv(out / "customers.csv", dtype=str, keep_default_na=False)
    offers = pd.read_csv(out / "offers.csv", dtype=str, keep_default_na=False)
    meta = json.loads((out / "run.json").read_text())
    assert list(cust.columns[:len(CUSTOMER_COLUMNS)]) == CUSTOMER_COLUMNS
    assert list(offers.columns[:len(OFFER_COLUMNS)]) == OFFER_COLUMNS
    assert len(cust) > 1000 and len(offers) >= len(cust)
    assert cust["customer_id"].tolist() == sorted(cust["customer_id"])
    key = list(zip(offers.customer_id, offers["rank"].astype(int)))
    assert key == sorted(key)
    assert offers.groupby("customer_id")["rank"].apply(lambda r: r.astype(int).min()).eq(1).all()
    assert cust["first_purchase"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert set(offers["gate"]) == {"UNGATED"} and (offers["audit_score"] == "").all()
    assert meta["rows"]["read"] >= meta["rows"]["loaded"] > 0
    assert meta["customers"] == len(cust)
    assert {"features", "segments", "offers"} <= set(meta["stage_timings"])
    assert (out / "customers.csv").read_bytes()[:3] != b"\xef\xbb\xbf"


def test_run_is_byte_identical_across_runs(two_runs):
    a, b = two_runs
    for name in ("customers.csv", "offers.csv"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name


def test_unreadable_columns_exit_nonzero_naming_what_is_needed(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("foo,bar\n1,2\n3,4\n", encoding="utf-8")
    p = _run("run", "--transactions", str(bad), "--out", str(tmp_path / "out"), "--quiet")
    assert p.returncode != 0
    assert "Traceback" not in p.stderr
    assert "--mapping" in p.stderr and "customer" in p.stderr.lower()


def test_help_documents_every_command():
    p = _run("--help")
    assert p.returncode == 0
    for command in ("setup", "run", "import", "evaluate"):
        assert command in p.stdout
    for command in ("setup", "run", "import", "evaluate"):
        assert _run(command, "--help").returncode == 0
