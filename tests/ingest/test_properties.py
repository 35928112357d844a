"""Property tests: a customer table round-trips; amounts survive every delimiter and decimal mark."""

from __future__ import annotations

import csv
import io
import itertools
from decimal import Decimal

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from crm_core.ingest import import_file
from crm_core.store.frames import read_customers
from crm_core.store.models import Workspace

_counter = itertools.count()
_SETTINGS = settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

ids = st.text(alphabet="ABCDEFGHJKXYZabcxyz0123456789-_", min_size=1, max_size=12)
names = st.text(alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")), min_size=1, max_size=20) \
    .map(str.strip).filter(bool)
emails = st.from_regex(r"[a-z0-9.]{1,10}@[a-z]{1,8}\.(com|de|fr)", fullmatch=True)
customer = st.fixed_dictionaries({"first_name": names, "last_name": names, "email": emails, "city": names,
                                  "email_opt_in": st.sampled_from([True, False, None])})


@_SETTINGS
@given(rows=st.lists(st.tuples(ids, customer), min_size=1, max_size=15, unique_by=lambda r: r[0].upper()),
       delimiter=st.sampled_from([",", ";", "\t", "|"]))
def test_a_customer_table_exported_and_imported_back_is_identical(db, analyst, rows, delimiter):
    frame = pd.DataFrame([{"customer_id": cid, **attrs} for cid, attrs in rows])
    out = frame.copy()
    out["email_opt_in"] = out["email_opt_in"].map({True: "yes", False: "no", None: ""})
    data = out.to_csv(index=False, sep=delimiter).encode("utf-8")
    workspace = f"w{next(_counter)}"
    import_file(db, workspace, (data, "customers.csv"), kind="customers", actor=analyst)
    with db.read() as s:
        ws_id = s.scalar(select(Workspace.id).where(Workspace.name == workspace))
    back = read_customers(db, ws_id).set_index("customer_id").sort_index()
    expect = frame.set_index("customer_id").sort_index()
    assert back.index.tolist() == expect.index.tolist()
    for col in ("first_name", "last_name", "email", "city"):
        assert back[col].tolist() == expect[col].tolist()
    assert [None if pd.isna(v) else bool(v) for v in back["email_opt_in"]] == expect["email_opt_in"].tolist()


amounts = st.decimals(min_value=Decimal("-9999999.99"), max_value=Decimal("9999999.99"), places=2,
                      allow_nan=False, allow_infinity=False)


def _write(value: Decimal, decimal: str, thousands: str | None) -> str:
    text = f"{value:,.2f}" if thousands else f"{value:.2f}"
    return text.replace(",", "\0").replace(".", decimal).replace("\0", thousands or "")


@_SETTINGS
@given(values=st.lists(amounts, min_size=1, max_size=20),
       style=st.sampled_from([(d, dec, th) for d in (",", ";", "\t", "|") for dec, th in
                              ((".", None), (".", ","), (",", None), (",", "."), (",", " "), (".", " "))]))
def test_amounts_survive_every_delimiter_and_decimal_mark(db, analyst, values, style):
    delimiter, decimal, thousands = style
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\n")
    writer.writerow(["customer_id", "invoice_date", "amount"])
    for i, v in enumerate(values):
        writer.writerow([f"C{i}", "2024-01-31", _write(v, decimal, thousands)])
    workspace = f"a{next(_counter)}"
    report = import_file(db, workspace, (buffer.getvalue().encode(), "amounts.csv"), kind="transactions",
                         actor=analyst)
    assert report.rows_rejected == 0
    with db.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            "SELECT t.amount_minor FROM transactions t JOIN workspaces w ON w.id = t.workspace_id "
            f"WHERE w.name = '{workspace}' ORDER BY t.line_no").scalars().all()
    assert stored == [int(v * 100) for v in values]
