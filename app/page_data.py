"""Read views the pages keep between reruns, keyed so they never outlive a change.

Each entry's key holds the database URL, the run or workspace it is about, and the head of the audit
log (:func:`crm_core.views.audit_chain.last_change`): every change (an import, a run or its deletion, a
decision, an edit, a merge, a restore), from the app or the CLI, appends an audit event, so an entry
read before it is never served after it. One primary-key lookup per rerun buys that. The entries of a
workspace or run are only ever asked for with that workspace's or run's id: another workspace's page
never reads them. ``ttl`` bounds what a process keeps.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from crm_core.store import Database
from crm_core.views import offers as offer_views
from crm_core.views.audit_chain import last_change
from crm_core.views.customer import search_customers
from crm_core.views.downloads import segment_summary
from crm_core.views.offer_list import OfferList, offer_list
from crm_core.views.overview import loaded_data
from crm_core.views.run_comparison import RunComparisonView, compare_runs
from crm_core.views.workspace_admin import import_batch_table, run_table, workspace_table


@st.cache_data(show_spinner="Working out the product families from the sales lines…", ttl=3600, max_entries=8)
def _families(url: str, run_id: int, head: str) -> pd.Series:
    return offer_views.product_families(Database.open(url), run_id)


def run_families(db, run_id: int) -> pd.Series:
    """:func:`crm_core.views.offers.product_families` of the run (every product it offers)."""
    return _families(db.url, int(run_id), last_change(db))


@st.cache_data(show_spinner="Reading the run's filter choices…", ttl=3600, max_entries=8)
def _choices(url: str, run_id: int, head: str) -> offer_views.OfferFilterChoices:
    db = Database.open(url)
    return offer_views.offer_filter_choices(db, run_id, families=_families(url, run_id, head))


def offer_choices(db, run_id: int) -> offer_views.OfferFilterChoices:
    """:func:`crm_core.views.offers.offer_filter_choices` of the run (the Offers page takes its choices from
    :func:`run_offer_list` instead, which it reads anyway)."""
    return _choices(db.url, int(run_id), last_change(db))


@st.cache_data(show_spinner="Reading the run's offers in list order…", ttl=3600, max_entries=4)
def _offer_list(url: str, run_id: int, head: str) -> OfferList:
    return offer_list(Database.open(url), run_id)


def run_offer_list(db, run_id: int) -> OfferList:
    """:func:`crm_core.views.offer_list.offer_list` of the run (about 30 bytes per offer)."""
    return _offer_list(db.url, int(run_id), last_change(db))


@st.cache_data(show_spinner="Comparing the runs…", ttl=3600, max_entries=8)
def _comparison(url: str, run_a: int, run_b: int, head: str) -> RunComparisonView:
    return compare_runs(Database.open(url), run_a, run_b)


def run_comparison(db, run_a: int, run_b: int) -> RunComparisonView:
    """:func:`crm_core.views.run_comparison.compare_runs` (errors are not kept: they are raised again)."""
    return _comparison(db.url, int(run_a), int(run_b), last_change(db))


@st.cache_data(show_spinner="Counting…", ttl=600, max_entries=16)
def _loaded(url: str, workspace_id: int, head: str):
    return loaded_data(Database.open(url), workspace_id)


def workspace_loaded_data(db, workspace_id: int):
    """:func:`crm_core.views.overview.loaded_data` of the workspace."""
    return _loaded(db.url, int(workspace_id), last_change(db))


@st.cache_data(show_spinner="Summarising the segments…", ttl=3600, max_entries=8)
def _segment_summary(url: str, run_id: int, head: str) -> pd.DataFrame:
    return segment_summary(Database.open(url), run_id)


def run_segment_summary(db, run_id: int) -> pd.DataFrame:
    """:func:`crm_core.views.downloads.segment_summary` of the run."""
    return _segment_summary(db.url, int(run_id), last_change(db))


@st.cache_data(show_spinner="Searching the customers…", ttl=600, max_entries=32)
def _search(url: str, workspace_id: int, text: str, head: str) -> pd.DataFrame:
    return search_customers(Database.open(url), workspace_id, text)


def customer_search(db, workspace_id: int, text: str) -> pd.DataFrame:
    """:func:`crm_core.views.customer.search_customers` (kept: picking a match reruns the page with the same text)."""
    return _search(db.url, int(workspace_id), text, last_change(db))


@st.cache_data(show_spinner="Counting what each workspace holds…", ttl=600, max_entries=4)
def _workspaces(url: str, head: str) -> pd.DataFrame:
    return workspace_table(Database.open(url))


def workspaces_table(db) -> pd.DataFrame:
    """:func:`crm_core.views.workspace_admin.workspace_table` (counts every customer and sales line)."""
    return _workspaces(db.url, last_change(db))


@st.cache_data(show_spinner="Reading the imports…", ttl=600, max_entries=8)
def _imports(url: str, workspace_id: int, head: str) -> pd.DataFrame:
    return import_batch_table(Database.open(url), workspace_id)


def imports_table(db, workspace_id: int) -> pd.DataFrame:
    """:func:`crm_core.views.workspace_admin.import_batch_table` of the workspace."""
    return _imports(db.url, int(workspace_id), last_change(db))


@st.cache_data(show_spinner="Reading the runs…", ttl=600, max_entries=8)
def _runs(url: str, workspace_id: int, head: str) -> pd.DataFrame:
    return run_table(Database.open(url), workspace_id)


def runs_table(db, workspace_id: int) -> pd.DataFrame:
    """:func:`crm_core.views.workspace_admin.run_table` of the workspace (counts each run's offers)."""
    return _runs(db.url, int(workspace_id), last_change(db))
