"""The inbox of scheduled runs: every new file imported in a stable order, filed under processed/ or
rejected/ with its report beside it, and one pipeline run when anything new was loaded."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import func, select

from crm_core.config import Config
from crm_core.errors import PermissionDenied, ValidationError
from crm_core.services.inbox import kind_from_name, process_inbox
from crm_core.store.models import AuditEvent, ImportBatch, PipelineRun
from tests.formula_corpus import is_formula_in_a_spreadsheet

SAMPLES = Path(__file__).resolve().parents[2] / "data" / "samples"


def write_inbox(folder: Path, *, lines: int = 4000) -> Path:
    """Good files (named and unnamed), a duplicate, an unknown one, two bad ones, and two left alone."""
    folder.mkdir(parents=True, exist_ok=True)
    sales = pd.read_csv(SAMPLES / "retail_transactions.csv", dtype=str, nrows=lines)
    customers = pd.read_csv(SAMPLES / "retail_customers.csv", dtype=str)
    customers = customers[customers["customer_id"].isin(sales["customer_id"])]
    sales.to_csv(folder / "sales week 49.csv", index=False)  # transactions, known from its headers
    customers.to_csv(folder / "customers_2026-12.csv", index=False)  # from its name
    customers.to_csv(folder / "customers_copy.csv", index=False)  # the same content again: a duplicate
    (folder / "catalog.csv").write_bytes((SAMPLES / "retail_products.csv").read_bytes())  # products, by headers
    (folder / "notes.csv").write_text("foo,bar\n1,2\n", encoding="utf-8")  # no kind at all
    (folder / "transactions_missing.csv").write_text("customer_id,when\n1,2025-01-01\n", encoding="utf-8")
    broken = sales.head(40).assign(invoice_date="=1+1 not a date")  # every row rejected, a payload in the values
    broken.to_csv(folder / "transactions_broken.csv", index=False)
    (folder / ".~lock.sales.csv#").write_text("x", encoding="utf-8")  # hidden: left alone
    (folder / "upload.csv.part").write_text("x", encoding="utf-8")  # still being copied: left alone
    return folder


@pytest.fixture
def inbox(tmp_path):
    return write_inbox(tmp_path / "inbox")


def test_each_file_is_filed_with_its_report_and_the_pipeline_runs_once(db, inbox, analyst):
    result = process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    fate = {f.name: (f.status, f.kind, f.moved_to.parent.name) for f in result.files}
    assert fate == {
        "catalog.csv": ("loaded", "products", "processed"),
        "customers_2026-12.csv": ("loaded", "customers", "processed"),
        "customers_copy.csv": ("duplicate", "customers", "processed"),
        "sales week 49.csv": ("loaded", "transactions", "processed"),
        "notes.csv": ("rejected", None, "rejected"),
        "transactions_missing.csv": ("rejected", "transactions", "rejected"),
        "transactions_broken.csv": ("rejected", "transactions", "rejected"),
    }
    assert sorted(p.name for p in inbox.iterdir() if p.is_file()) == [".nextbest-inbox.lock", ".~lock.sales.csv#",
                                                                      "upload.csv.part"]
    for f in result.files:
        assert f.moved_to.is_file() and f.report_path == f.moved_to.with_name(f.name + ".report.txt")
        assert f"status: {f.status}" in f.report_path.read_text(encoding="utf-8")
    notes = next(f for f in result.files if f.name == "notes.csv")
    assert "Its kind is not known" in notes.report_path.read_text() and "customers_notes.csv" in notes.message
    assert notes.issues_path is None  # the importer never read it as anything
    missing = next(f for f in result.files if f.name == "transactions_missing.csv")
    assert "invoice_date" in missing.report_path.read_text()
    broken = next(f for f in result.files if f.name == "transactions_broken.csv")
    issues = pd.read_csv(broken.issues_path, dtype=str, keep_default_na=False)
    assert len(issues) >= 40 and not [c for c in issues.to_numpy().ravel() if is_formula_in_a_spreadsheet(c)]
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(PipelineRun)) == 1
        assert result.run is not None and len(result.run.customers) > 100
        kinds = s.execute(select(ImportBatch.kind, ImportBatch.status).order_by(ImportBatch.id)).all()
    # catalog and customers before the sales that refer to them
    assert [k for k, status in kinds if status == "loaded"] == ["products", "customers", "transactions"]
    assert not result.ok and len(result.rejected) == 3


def test_an_inbox_with_nothing_new_does_not_run_the_pipeline(db, inbox, analyst):
    process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    again = process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    assert again.files == () and again.run is None and again.ok
    (inbox / "sales again.csv").write_bytes((inbox / "processed" / "sales week 49.csv").read_bytes())
    third = process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    assert [f.status for f in third.files] == ["duplicate"] and third.run is None
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(PipelineRun)) == 1


def test_a_name_taken_in_processed_gets_a_number(db, inbox, analyst, tmp_path):
    process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    (inbox / "catalog.csv").write_bytes((SAMPLES / "retail_products.csv").read_bytes())
    result = process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    (catalog,) = result.files
    assert catalog.moved_to.name == "catalog-2.csv" and catalog.report_path.name == "catalog-2.csv.report.txt"
    assert (inbox / "processed" / "catalog.csv").exists()


def test_imports_and_the_run_are_audited_as_the_acting_user(db, inbox, analyst):
    process_inbox(db, inbox, actor=analyst, config=Config(), workspace="shop")
    with db.read() as s:
        actors = set(s.scalars(select(AuditEvent.actor)))
        actions = s.scalars(select(AuditEvent.action)).all()
    assert actors == {"ann"} and actions.count("import_data") == 4  # three loaded, one duplicate
    assert actions.count("pipeline.run") == 1


def test_a_viewer_may_not_empty_an_inbox_and_a_missing_folder_is_named(db, tmp_path, viewer, analyst):
    with pytest.raises(PermissionDenied):
        process_inbox(db, write_inbox(tmp_path / "in"), actor=viewer, config=Config())
    assert len(list((tmp_path / "in").iterdir())) > 5  # nothing moved
    with pytest.raises(ValidationError, match="not a folder"):
        process_inbox(db, tmp_path / "nowhere", actor=analyst, config=Config())


@pytest.mark.parametrize(("name", "kind"), [
    ("customers_2026-12.csv", "customers"), ("Holdings-week1.xlsx", "holdings"), ("outcomes_x.parquet", "outcomes"),
    ("customer_list.csv", None), ("sales.csv", None), ("products.csv", None),
])
def test_the_kind_prefix_of_a_name(name, kind):
    assert kind_from_name(name) == kind
