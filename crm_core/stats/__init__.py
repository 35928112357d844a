"""Statistics for outcomes: pure computation, frames and numbers in, numbers and frames out.

No database, no files, no screen. Public entry points:

* :func:`compare_groups` - every experiment group against the control: conversion rate and revenue
  per customer, differences with 95 % intervals, a plain-English :func:`verdict`
  (:class:`UpliftResult`, :class:`GroupResult`, :class:`GroupSummary`);
* :func:`wilson_interval`, :func:`newcombe_diff_interval`, :func:`sample_size_two_proportions` -
  one rate, a difference of two rates, customers needed to detect one;
* :func:`welch_interval`, :func:`welch_interval_from_summary` - a difference of two means.

Errors a user can act on are :class:`UpliftInputError` subclasses (NextBestErrors, in
:mod:`crm_core.stats.inputs`) whose messages name the column, row or value.
"""

from crm_core.stats.inputs import (NothingToCompare, UnknownColumn, UnknownControl, UnreadableValue,
                                   UpliftInputError, conversion_flags)
from crm_core.stats.means import welch_interval, welch_interval_from_summary
from crm_core.stats.proportions import newcombe_diff_interval, sample_size_two_proportions, wilson_interval
from crm_core.stats.uplift import (GroupResult, GroupSummary, UpliftResult, compare_counts, compare_groups,
                                   verdict)

__all__ = [
    "GroupResult", "GroupSummary", "NothingToCompare", "UnknownColumn", "UnknownControl", "UnreadableValue",
    "UpliftInputError", "UpliftResult", "compare_counts", "compare_groups", "conversion_flags",
    "newcombe_diff_interval", "sample_size_two_proportions", "verdict", "welch_interval", "welch_interval_from_summary", "wilson_interval",
]
