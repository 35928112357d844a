"""The CLI contract of `python -m crm_core run`, on the shipped demo sample."""

import json
import os
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
    assert set(offers["gate"]) <= {"PASS", "REVIEW", "BLOCK"}
    scores = offers["audit_score"].astype(int)
    assert scores.between(0, 100).all() and (offers["audit_score"] == scores.astype(str)).all()  # integers
    codes = offers["flags"].str.split(";")
    assert (codes.map(lambda c: c == sorted(c)) | (offers["flags"] == "")).all()
    assert offers["flags"].str.contains("CONSENT_UNKNOWN").all()  # no customers file: nobody's consent is known
    assert meta["policy"] == {"name": "standard", "version": 1}
    assert meta["quality"]["level"] in {"EXCELLENT", "GOOD", "ACCEPTABLE", "POOR"}
    assert meta["quality"]["offers"] == len(offers) and 0 <= meta["quality"]["coverage"] <= 1
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


def test_policy_and_contact_date_options(tmp_path):
    customers = SAMPLE.with_name("retail_customers.csv")
    outs = {}
    for policy in ("strict", "permissive"):
        out = tmp_path / policy
        p = _run("run", "--transactions", str(SAMPLE), "--customers", str(customers), "--out", str(out), "--quiet",
                 "--policy", policy, "--contact-date", "2026-01-15")
        assert p.returncode == 0, p.stderr
        outs[policy] = pd.read_csv(out / "offers.csv", dtype=str, keep_default_na=False)
        meta = json.loads((out / "run.json").read_text())
        assert meta["policy"]["name"] == policy and meta["contact_date"] == "2026-01-15"
    strict, permissive = (outs[k]["gate"].value_counts() for k in ("strict", "permissive"))
    assert strict.get("PASS", 0) < permissive.get("PASS", 0)  # the same offers, judged more strictly
    assert outs["strict"]["flags"].tolist() == outs["permissive"]["flags"].tolist()  # flags do not depend on it
    # a consent file imported today is not known on a contact date before the import
    assert outs["strict"]["flags"].str.contains("CONSENT_UNKNOWN").all()


def test_a_policy_file_and_a_wrong_policy_name(tmp_path):
    policy = tmp_path / "cautious.toml"
    policy.write_text('name = "cautious"\nversion = 2\nreview_below = 95\nblock_below = 50\n', encoding="utf-8")
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "a"), "--quiet", "--policy", str(policy))
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "a" / "run.json").read_text())["policy"] == {"name": "cautious", "version": 2}
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "b"), "--quiet", "--policy", "strcit")
    assert p.returncode == 2 and "Unknown gating policy 'strcit'" in p.stderr and "Traceback" not in p.stderr


def test_the_temporary_database_is_deleted(tmp_path):
    p = subprocess.run([sys.executable, "-m", "crm_core", "run", "--transactions", str(SAMPLE), "--out",
                        str(tmp_path / "out"), "--quiet"], capture_output=True, text=True, cwd=ROOT, timeout=600,
                       env={**os.environ, "TMPDIR": str(tmp_path)})
    assert p.returncode == 0, p.stderr
    assert not list(tmp_path.glob("nextbest-*")), "the run's temporary database folder was left behind"


@pytest.mark.parametrize("role, allowed", [("analyst", True), ("manager", True), ("viewer", False)])
def test_the_cli_acts_as_a_real_user_of_each_role(tmp_path, role, allowed):
    """It once crashed with DetachedInstanceError for any user but the system principal."""
    from crm_core.auth import SYSTEM_CLI
    from crm_core.auth.users import create_user
    from crm_core.store import Database

    url = f"sqlite:///{tmp_path / 'team.db'}"
    db = Database.open(url)
    db.upgrade()
    create_user(db, SYSTEM_CLI, "pat", role, password="a-long-password-1")
    db.engine.dispose()
    Database._open.pop(url, None)
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "out"), "--quiet", "--db", url,
             "--user", "pat")
    assert "Traceback" not in p.stderr
    if allowed:
        assert p.returncode == 0, p.stderr
        assert json.loads((tmp_path / "out" / "run.json").read_text())["user"] == "pat"
    else:
        assert p.returncode == 2
        assert "pat is a viewer and may not import data" in p.stderr


def test_an_unknown_cli_user_is_refused_with_a_clear_message(tmp_path):
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "out"), "--quiet", "--user", "nobody")
    assert p.returncode == 2 and "No active user 'nobody'" in p.stderr and "Traceback" not in p.stderr


def test_a_run_on_a_database_uses_its_saved_settings_unless_a_file_is_given(tmp_path):
    from crm_core.auth import Actor, Role
    from crm_core.services.settings_store import save_settings
    from crm_core.store import Database

    url = f"sqlite:///{tmp_path / 'team.db'}"
    db = Database.open(url)
    db.upgrade()
    save_settings(db, Actor("ada", Role.ADMIN), {"recommend": {"top_n": 1}}, note="one offer each")
    db.engine.dispose()
    Database._open.pop(url, None)
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "saved"), "--quiet", "--db", url)
    assert p.returncode == 0, p.stderr
    meta = json.loads((tmp_path / "saved" / "run.json").read_text())
    offers = pd.read_csv(tmp_path / "saved" / "offers.csv", dtype=str)
    assert meta["settings_version"] == 1 and offers["rank"].eq("1").all()
    config = tmp_path / "three.toml"
    config.write_text("[recommend]\ntop_n = 3\n")
    p = _run("run", "--transactions", str(SAMPLE), "--out", str(tmp_path / "file"), "--quiet", "--db", url,
             "--config", str(config))
    assert p.returncode == 0, p.stderr
    assert json.loads((tmp_path / "file" / "run.json").read_text())["settings_version"] is None
