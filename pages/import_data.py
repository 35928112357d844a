"""Import data: upload an export, check how it was read, map its columns, confirm, read the report."""

from __future__ import annotations

import streamlit as st

from app.shell import guard_page, show_error, shown
from crm_core.errors import NextBestError
from crm_core.ingest import (CURRENCY_CODES, DATE_FORMAT_CHOICES, FIELDS, KINDS, IngestConfig, ReaderOptions,
                             RejectThresholdExceeded, detect_currency, import_file, read_table, recall_mapping,
                             required_fields)
from crm_core.services.workspaces import NO_CURRENCY, machine_timezone, timezone_choices

ctx = guard_page("import_data.py", require_workspace=False)
config: IngestConfig = getattr(ctx.config, "ingest", None) or IngestConfig()
NONE = "(not in this file)"

st.title("Import data")
st.caption("CSV, TSV, Excel (.xlsx) or Parquet exports, in any common local format. The file is stored entirely "
           "or not at all, with a report of every rejected row.")

left, right = st.columns(2)
with left:
    kind = st.selectbox("What does the file hold?", KINDS, key="import_kind",
                        format_func=lambda k: k.capitalize())
with right:
    if ctx.workspace is not None:
        workspace = ctx.workspace.name
        st.text_input("Workspace", value=workspace, disabled=True, key="import_workspace_shown",
                      help="Switch workspaces in the sidebar.")
    else:
        workspace = st.text_input("New workspace", value="My shop", key="import_workspace",
                                  help="A workspace is one data world (a shop, a bank). It is created on import.")

upload = st.file_uploader(f"Export file (up to {config.max_upload_mb} MB)", key="import_file",
                          type=["csv", "tsv", "txt", "xlsx", "parquet"])
if upload is None:
    st.info(f"Choose a file to see a preview. Files up to {config.max_upload_mb} MB are accepted.")
    st.stop()

data = upload.getvalue()
sheet = st.session_state.get("import_sheet")
date_format = st.session_state.get("import_date_format")
date_format = None if date_format in (None, "auto") else date_format
parsed_key = (upload.file_id if hasattr(upload, "file_id") else upload.name, len(data), kind, sheet, date_format)
cached = st.session_state.get("import_parsed")
if cached is not None and cached[0] == parsed_key:
    table = cached[1]
else:
    reading = st.progress(0.0, text="Reading the file")
    try:
        table = read_table((data, upload.name), kind=kind, config=config,
                           options=ReaderOptions(sheet=sheet, date_format=date_format),
                           progress=lambda f, m: reading.progress(min(max(f, 0.0), 1.0), text=m))
    except NextBestError as exc:
        show_error(exc)
        st.stop()
    finally:
        reading.empty()
    st.session_state["import_parsed"] = (parsed_key, table)

if len(table.sheets) > 1:
    st.selectbox("Sheet", table.sheets, index=table.sheets.index(table.format["sheet"]), key="import_sheet",
                 help="The workbook has several sheets; choose the one with the data.")
for note in table.notes:
    st.info(note)
fmt = table.format
described = [fmt.get("container", ""), fmt.get("encoding"), fmt.get("delimiter_name"),
             f"header on line {fmt.get('header_line')}"]
st.caption("Read as: " + ", ".join(str(d) for d in described if d))

st.subheader("Preview")
st.dataframe(table.preview, key="import_preview")
st.caption(f"{len(table.frame):,} data rows; the first {len(table.preview)} are shown as the app parsed them "
           "(the index is the line in the file).")

st.subheader("Columns")
remembered = recall_mapping(ctx.db, ctx.workspace.id, kind, table.headers) if ctx.workspace is not None else None
proposal = remembered or table.mapping
if remembered:
    st.caption("Using the mapping you confirmed earlier for files with these headers.")
required = set(required_fields(kind)) - {"amount"}
choices = [NONE] + list(table.headers)
mapping: dict[str, str] = {}
cols = st.columns(3)
for i, field in enumerate(FIELDS[kind]):
    label = field + (" *" if field in required else "")
    default = proposal.get(field)
    with cols[i % 3]:
        picked = st.selectbox(label, choices, index=choices.index(default) if default in choices else 0,
                              key=f"import_map_{kind}_{field}")
    if picked != NONE:
        mapping[field] = picked
if kind == "transactions":
    st.caption("Fields marked * are required. A transactions file needs an amount, or a quantity and a unit "
               "price. Rows with an empty customer id are loaded as anonymous sales.")

try:
    checked = table.with_mapping(mapping, date_format)
except NextBestError as exc:
    show_error(exc)
    st.stop()
if checked.missing:
    st.warning("Still missing: " + ", ".join(checked.missing) + ". Pick the column that holds each.")

options = ["auto"] + list(DATE_FORMAT_CHOICES)
if checked.needs_date_format or date_format:
    if checked.needs_date_format:
        st.warning("Every date in this file could be day-first or month-first. Choose how dates are written.")
    st.selectbox("Date format", options, key="import_date_format",
                 format_func=lambda k: "detect from the data" if k == "auto" else f"{k}: {DATE_FORMAT_CHOICES[k]}")

ready = not checked.missing and not (checked.needs_date_format and not date_format)
new_currency = new_timezone = None
if ctx.workspace is None:  # this import creates the workspace: its currency and time zone are asked for here
    st.subheader("New workspace")
    found = detect_currency(checked.frame, checked.mapping)
    codes = list(CURRENCY_CODES) + [NO_CURRENCY]
    c1, c2 = st.columns(2)
    new_currency = c1.selectbox("Currency", codes, index=codes.index(found.code if found else NO_CURRENCY),
                                key="import_currency",
                                format_func=lambda c: "none (plain numbers)" if c == NO_CURRENCY else c,
                                help="Every amount of this workspace is shown in this currency.")
    c1.caption(f"Detected: {shown(found.describe())}" if found else
               "No currency symbol or code was found in the amounts: choose one, or keep plain numbers.")
    zones = timezone_choices()
    guess = machine_timezone()
    new_timezone = c2.selectbox("Time zone", zones, index=zones.index(guess) if guess in zones else None,
                                key="import_timezone", help="Where the shop's days begin and end: as-of dates, "
                                "today and days since the last purchase are cut in this time zone.")
    ready = ready and new_currency is not None and new_timezone is not None


def _run_import(accept: bool) -> None:
    bar = st.progress(0.0, text="starting")
    try:
        report = import_file(ctx.db, workspace, (data, upload.name), kind=kind, actor=ctx.actor, config=config,
                             options=ReaderOptions(mapping=mapping, date_format=date_format, sheet=sheet),
                             accept_rejects=accept, progress=lambda f, m: bar.progress(min(max(f, 0.0), 1.0), text=m),
                             parsed=table,  # the preview's parse: a big workbook is not read twice
                             currency=new_currency, timezone=new_timezone)
        st.session_state["import_report"] = report
        st.session_state.pop("import_pending", None)
    except RejectThresholdExceeded as exc:
        st.session_state["import_pending"] = exc
        st.session_state.pop("import_report", None)
    except NextBestError as exc:
        show_error(exc)
    finally:
        bar.empty()


if st.button("Import", key="import_confirm", type="primary", disabled=not ready):
    _run_import(accept=False)

pending = st.session_state.get("import_pending")
if pending is not None:
    st.warning(str(pending))
    if pending.report is not None:
        rejected = pending.report.issues[pending.report.issues["severity"] == "rejected"]
        st.dataframe(rejected.fillna(""), key="import_pending_rejects", hide_index=True)
        st.download_button("Download the rejected rows (CSV)", pending.report.issues_csv(),
                           file_name=f"{upload.name}.issues.csv", mime="text/csv", key="import_pending_download")
    if st.button("Load the good rows anyway", key="import_accept_rejects"):
        _run_import(accept=True)

report = st.session_state.get("import_report")
if report is not None:
    show = st.info if report.status == "duplicate" else st.warning if " Warning: " in report.message else st.success
    show(report.message)
    totals = st.columns(6)
    for column, (label, value) in zip(totals, [("Read", report.rows_read), ("Loaded", report.rows_loaded),
                                               ("Rejected", report.rows_rejected), ("Warned", report.rows_warned),
                                               ("Skipped", report.rows_skipped), ("Anonymous", report.anonymous_rows)]):
        column.metric(label, f"{value:,}")
    if not report.issues.empty:
        st.dataframe(report.issues.fillna(""), key="import_issues", hide_index=True)
        st.download_button("Download the report (CSV)", report.issues_csv(), file_name=f"{report.source_name}.issues.csv",
                           mime="text/csv", key="import_issues_download")
