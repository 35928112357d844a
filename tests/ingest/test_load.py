"""Loading: all or nothing, duplicates, overlapping exports, upserts, aliases, dated attributes, mappings."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select

from crm_core.ingest import ReaderOptions, RejectThresholdExceeded, import_file, read_table, recall_mapping
from crm_core.services.workspaces import ensure_workspace
from crm_core.store.audit_log import verify_chain
from crm_core.store.models import (AuditEvent, Customer, CustomerAttribute, Holding, ImportBatch, ImportIssue, Outcome,
                                   Product, ProductAlias, SavedMapping)
from crm_core.views.workspaces import get_workspace
from tests.ingest.conftest import BAD, GOOD

TX = "customer_id,invoice_id,invoice_date,product_id,quantity,unit_price\n"


def _csv(body: str, name: str = "tx.csv") -> tuple[bytes, str]:
    return (TX + body).encode(), name


def test_reimporting_the_same_content_adds_nothing_and_says_so(db, analyst, counts):
    first = import_file(db, "shop", GOOD / "dayfirst.csv", kind="transactions", actor=analyst)
    before = counts(db)
    again = import_file(db, "shop", ((GOOD / "dayfirst.csv").read_bytes(), "renamed.csv"), kind="transactions",
                        actor=analyst)
    assert again.status == "duplicate" and again.rows_loaded == 0
    assert f"batch {first.batch_id}" in again.message and "nothing was added" in again.message
    after = counts(db)
    assert after["transactions"] == before["transactions"] == 3
    assert after["import_batches"] == before["import_batches"] + 1  # the attempt is in the history
    with db.read() as s:
        assert s.scalar(select(ImportBatch.status).where(ImportBatch.id == again.batch_id)) == "duplicate"


def test_an_overlapping_export_skips_invoices_already_loaded(db, analyst, stored):
    import_file(db, "shop", _csv("1,I1,2024-01-01,A,1,2\n1,I2,2024-01-02,B,1,3\n"), kind="transactions",
                actor=analyst)
    later = import_file(db, "shop", _csv("1,I2,2024-01-02,B,1,3\n1,I2,2024-01-02,C,1,4\n2,I3,2024-01-03,A,2,2\n",
                                         "later.csv"), kind="transactions", actor=analyst)
    assert (later.rows_loaded, later.rows_skipped) == (1, 2)
    skipped = later.issues[later.issues["code"] == "already_loaded"]
    assert skipped["line"].tolist() == [2, 3] and skipped["value"].tolist() == ["I2", "I2"]
    assert stored(db)["invoice_id"].tolist() == ["I1", "I2", "I3"]


def test_without_invoice_ids_identical_lines_are_skipped_once_each(db, analyst, stored):
    head = "customer_id,invoice_date,product_id,amount\n"
    import_file(db, "shop", ((head + "1,2024-01-01,A,5\n1,2024-01-01,A,5\n2,2024-01-02,B,7\n").encode(), "a.csv"),
                kind="transactions", actor=analyst)
    later = import_file(db, "shop", ((head + "1,2024-01-01,A,5\n1,2024-01-01,A,5\n1,2024-01-01,A,5\n"
                                      "2,2024-01-02,B,8\n").encode(), "b.csv"), kind="transactions", actor=analyst)
    # two of the three identical lines were loaded before; the third is new, as is the changed amount
    assert (later.rows_loaded, later.rows_skipped) == (2, 2)
    assert later.issues.loc[later.issues["code"] == "same_as_loaded", "line"].tolist() == [2, 3]
    assert len(stored(db)) == 5


def test_duplicate_lines_inside_one_file_are_kept_and_reported(db, analyst, stored):
    report = import_file(db, "shop", _csv("1,I1,2024-01-01,A,1,2\n1,I1,2024-01-01,A,1,2\n"), kind="transactions",
                         actor=analyst)
    assert report.rows_loaded == 2
    assert report.issues[["line", "code"]].values.tolist() == [[3, "duplicate_row"]]


def test_over_the_threshold_nothing_is_stored_until_confirmed(db, analyst, counts, stored):
    with pytest.raises(RejectThresholdExceeded) as caught:
        import_file(db, "shop", BAD / "too_many_rejects.csv", kind="transactions", actor=analyst)
    preview = caught.value.report
    assert preview.status == "needs_confirmation" and preview.rows_rejected == 2
    assert sum(counts(db).values()) == 0
    report = import_file(db, "shop", BAD / "too_many_rejects.csv", kind="transactions", actor=analyst,
                         accept_rejects=True)
    rejected = report.issues[report.issues["severity"] == "rejected"]
    assert rejected[["line", "column", "code", "value"]].values.tolist() == [
        [3, "amount", "bad_number", "abc"], [4, "invoice_date", "bad_date", "not a date"]]
    assert (report.rows_read, report.rows_loaded, report.rows_rejected) == (4, 2, 2)
    with db.read() as s:
        stored_issues = s.execute(select(ImportIssue.line, ImportIssue.code).where(
            ImportIssue.batch_id == report.batch_id).order_by(ImportIssue.line)).all()
    assert stored_issues == [(3, "bad_number"), (4, "bad_date")]
    csv = pd.read_csv(__import__("io").BytesIO(report.issues_csv()))
    assert csv.columns.tolist() == ["line", "column", "severity", "code", "value", "message"]
    assert csv["line"].tolist() == [3, 4]


def test_anonymous_rows_do_not_count_towards_the_threshold(db, analyst):
    body = "".join(f",I{i},2024-01-01,A,1,x\n" for i in range(10)) + "1,J,2024-01-01,A,1,2\n"
    report = import_file(db, "shop", _csv(body), kind="transactions", actor=analyst)
    assert (report.rows_rejected, report.rows_loaded) == (10, 1)


def test_a_confirmed_mapping_is_remembered_for_files_with_the_same_headers(db, analyst, stored):
    body = "Kd;Wann;Wert\n1;2024-01-01;5\n".encode()
    mapping = {"customer_id": "Kd", "invoice_date": "Wann", "amount": "Wert"}
    import_file(db, "shop", (body, "a.csv"), kind="transactions", actor=analyst,
                options=ReaderOptions(mapping=mapping))
    ws = get_workspace(db, "shop")
    table = read_table(("Kd;Wann;Wert\n2;2024-02-01;6\n".encode(), "b.csv"), kind="transactions")
    assert table.missing  # the headers alone mean nothing
    assert recall_mapping(db, ws.id, "transactions", table.headers) == mapping
    report = import_file(db, "shop", ("Kd;Wann;Wert\n2;2024-02-01;6\n".encode(), "b.csv"), kind="transactions",
                         actor=analyst)
    assert report.mapping == mapping and report.rows_loaded == 1
    with db.read() as s:
        assert len(s.scalars(select(SavedMapping)).all()) == 1


def test_customers_are_upserted_with_dated_attributes(db, analyst):
    import_file(db, "shop", GOOD / "customers.csv", kind="customers", actor=analyst,
                imported_at=pd.Timestamp("2024-05-01 12:00").to_pydatetime())
    update = ("customer_id,email,email_opt_in,updated_at\n1,,no,2024-06-01\n2,bob@example.com,no,2024-06-01\n"
              "4,new@example.com,,\n").encode()
    report = import_file(db, "shop", (update, "c2.csv"), kind="customers", actor=analyst)
    assert report.rows_loaded == 3
    with db.read() as s:
        people = {c.customer_code: (c.email, c.first_name) for c in s.scalars(select(Customer))}
        attrs = s.execute(select(Customer.customer_code, CustomerAttribute.attribute, CustomerAttribute.value,
                                 CustomerAttribute.effective_from)
                          .join(Customer, Customer.id == CustomerAttribute.customer_id)
                          .order_by(Customer.customer_code, CustomerAttribute.attribute,
                                    CustomerAttribute.effective_from)).all()
    assert people["1"][0] == "ann@example.com"  # an empty cell keeps the stored value
    assert people["2"][0] == "bob@example.com" and people["3"][1] == "Cé"
    opt_in = [(c, v, str(w.date())) for c, a, v, w in attrs if a == "email_opt_in"]
    # customer 2 said no before and says no again: no new row; customer 1 changed on 2024-06-01
    assert opt_in == [("1", "true", "2024-01-01"), ("1", "false", "2024-06-01"), ("2", "false", "2024-01-02"),
                      ("3", "true", "2024-05-01")]
    contacted = [(c, v, str(w.date())) for c, a, v, w in attrs if a == "last_contacted_at"]
    assert contacted == [("1", "2024-01-10 00:00:00", "2024-01-10")]


def test_products_catalog_aliases_fold_transactions_into_their_product(db, analyst, stored):
    import_file(db, "shop", _csv("1,I1,2024-01-01,p1-old,1,10\n2,I2,2024-01-02,MUG-1,1,10\n"), kind="transactions",
                actor=analyst)
    report = import_file(db, "shop", GOOD / "products.csv", kind="products", actor=analyst)
    assert report.rows_loaded == 3
    assert stored(db)["product_id"].tolist() == ["P1", "P1"]
    with db.read() as s:
        products = {p.product_code: (p.price_minor, p.unit_cost_minor, p.margin_rate, p.in_catalog, p.active,
                                     p.is_merchandise) for p in s.scalars(select(Product))}
        aliases = dict(s.execute(select(ProductAlias.alias_code, Product.product_code)
                                 .join(Product, Product.id == ProductAlias.product_id)).all())
    assert set(products) == {"P1", "P2", "POST"}
    assert aliases == {"P1-OLD": "P1", "MUG-1": "P1"}
    assert products["P1"] == (1000, 400, 0.6, True, True, True)
    assert products["P2"][2:5] == (0.3, True, False)
    assert products["POST"][5] is False
    later = import_file(db, "shop", _csv("3,I3,2024-02-01,mug-1,1,10\n", "later.csv"), kind="transactions",
                        actor=analyst)
    assert later.rows_loaded == 1 and stored(db)["product_id"].tolist() == ["P1", "P1", "P1"]
    unknown = import_file(db, "shop", _csv("3,I4,2024-02-02,ZZZ,1,10\n", "z.csv"), kind="transactions",
                          actor=analyst)
    assert unknown.counts == {"unknown_product": 1}


def test_holdings_and_outcomes_load(db, analyst):
    h = import_file(db, "bank", GOOD / "holdings.csv", kind="holdings", actor=analyst)
    o = import_file(db, "bank", GOOD / "outcomes.csv", kind="outcomes", actor=analyst)
    assert (h.rows_loaded, o.rows_loaded) == (3, 2)
    with db.read() as s:
        holdings = s.execute(select(Holding.opened_at, Holding.closed_at, Holding.balance_minor)
                             .order_by(Holding.id)).all()
        outcomes = s.execute(select(Outcome.reference, Outcome.converted, Outcome.revenue_minor)
                             .order_by(Outcome.id)).all()
    assert [b for _, _, b in holdings] == [100050, 0, 25000]
    assert str(holdings[1][1]) == "2023-01-01" and holdings[0][1] is None
    assert outcomes == [("SPRING-24", True, 1990), ("SPRING-24", False, None)]


def test_money_uses_the_workspace_decimals_exactly(db, analyst, stored):
    ensure_workspace(db, "tokyo", analyst, currency="JPY", currency_decimals=0)
    data = ("customer_id,invoice_date,quantity,unit_price\n1,2024-01-01,3,0.5\n"
            "1,2024-01-01,1,2.5\n1,2024-01-01,1,1999\n").encode()
    import_file(db, "tokyo", (data, "jp.csv"), kind="transactions", actor=analyst)
    assert stored(db)["amount_minor"].tolist() == [2, 2, 1999]  # 1.5 and 2.5 round half to even


def test_a_successful_import_is_one_audited_batch(db, analyst):
    seen = []
    report = import_file(db, "new-shop", GOOD / "dayfirst.csv", kind="transactions", actor=analyst,
                         progress=lambda f, m: seen.append(f))
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)
    assert get_workspace(db, "new-shop").name == "new-shop"
    with db.read() as s:
        events = [(e.action, e.entity, e.entity_id, e.actor, e.after_json["loaded"])
                  for e in s.scalars(select(AuditEvent))]
        assert verify_chain(s) == []
    assert events == [("import_data", "import_batch", str(report.batch_id), "ann", 3)]


def test_a_transactions_import_leaves_every_foreign_key_valid(db, analyst):
    """The transactions load skips SQLite's per-row key lookups: its keys must be right by construction."""
    from sqlalchemy import text

    import_file(db, "shop", _csv("1,I1,2024-01-01,A,1,2\n,I2,2024-01-02,B,1,3\n2,I3,2024-01-03,POST,1,4\n"),
                kind="transactions", actor=analyst)
    import_file(db, "shop", _csv("2,I4,2024-01-04,A,1,2\n3,I5,2024-01-05,C,1,3\n", "second.csv"),
                kind="transactions", actor=analyst)
    with db.engine.connect() as c:
        assert c.exec_driver_sql("PRAGMA foreign_key_check").fetchall() == []
        assert c.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        linked = c.execute(text("SELECT count(*) FROM transactions t JOIN customers cu ON cu.id = t.customer_id "
                                "JOIN products p ON p.id = t.product_id JOIN import_batches b ON b.id = t.batch_id "
                                "WHERE cu.workspace_id = t.workspace_id AND p.workspace_id = t.workspace_id")).scalar()
    assert linked == 4  # every line with a customer points at the workspace's own customer and product
    import datetime as dt

    with db.read() as s:
        created = s.scalars(select(Customer.created_at)).all()
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    assert len(created) == 3 and all(isinstance(c, dt.datetime) and abs(now - c.replace(tzinfo=None)).total_seconds()
                                     < 120 for c in created)  # bulk-inserted customers read back as UTC times


def test_the_preview_parse_is_reused_only_for_the_same_file(db, analyst, stored, monkeypatch):
    import crm_core.ingest.service as service

    data = _csv("1,I1,2024-01-01,A,1,2\n2,I2,2024-01-02,B,1,3\n")
    parsed = read_table(data, kind="transactions")
    calls = []  # True when the file is read again (a transactions file is opened for a batched read)
    real_open = service.open_batched
    monkeypatch.setattr(service, "open_batched",
                        lambda *a, **k: calls.append(k.get("parsed") is None) or real_open(*a, **k))
    report = import_file(db, "shop", data, kind="transactions", actor=analyst, parsed=parsed,
                         options=ReaderOptions(mapping={**parsed.mapping}))
    assert calls == [False] and report.rows_loaded == 2  # not read again
    other = _csv("3,I3,2024-01-03,A,1,2\n", "other.csv")
    report = import_file(db, "shop", other, kind="transactions", actor=analyst, parsed=parsed)
    assert calls[1:] == [True] and report.rows_loaded == 1  # another file's parse is never taken for this one
    assert sorted(stored(db)["customer_id"]) == ["1", "2", "3"]
