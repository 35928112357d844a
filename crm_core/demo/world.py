"""The shape of a demo world: four source frames with canonical column names."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crm_core.errors import NextBestError

TRANSACTION_COLUMNS = ("customer_id", "invoice_id", "invoice_date", "product_id", "product_name",
                       "category", "quantity", "unit_price", "channel")
CUSTOMER_FILE_COLUMNS = ("customer_id", "first_name", "last_name", "email", "phone", "birth_date", "region",
                    "city", "tags", "email_opt_in", "do_not_contact", "last_contacted_at")
PRODUCT_COLUMNS = ("product_id", "name", "family", "price", "unit_cost", "active")
HOLDING_COLUMNS = ("customer_id", "product_id", "opened_at", "closed_at", "balance")

DATASETS = {
    "transactions": TRANSACTION_COLUMNS,
    "customers": CUSTOMER_FILE_COLUMNS,
    "products": PRODUCT_COLUMNS,
    "holdings": HOLDING_COLUMNS,
}


class DemoArgumentError(NextBestError, ValueError):
    """A demo generator or writer was given an impossible size or an unknown format."""


@dataclass(frozen=True)
class DemoWorld:
    """One generated data world, as its source system would export it.

    The frames use the canonical column names of docs/contracts.md so the
    importer recognises them without a mapping, but hold *source* values:
    the dirty rows (a cancelled ``C`` invoice, a float-looking id such as
    ``10023.0``, an empty customer id, a ``POST`` line...) are left for the
    importer to clean. ``holdings`` is empty for a retailer.

    Attributes:
        transactions, customers, products, holdings: the four datasets.
        name: ``"retail"`` or ``"bank"``.
    """

    transactions: pd.DataFrame
    customers: pd.DataFrame
    products: pd.DataFrame
    holdings: pd.DataFrame
    name: str = ""

    def datasets(self) -> dict[str, pd.DataFrame]:
        """The non-empty datasets by name, in the fixed order of ``DATASETS``."""
        frames = {"transactions": self.transactions, "customers": self.customers,
                  "products": self.products, "holdings": self.holdings}
        return {k: v for k, v in frames.items() if len(v)}


def empty_holdings() -> pd.DataFrame:
    """A holdings frame with the canonical columns and no rows."""
    return pd.DataFrame({
        "customer_id": pd.array([], dtype="string"),
        "product_id": pd.array([], dtype="string"),
        "opened_at": pd.Series([], dtype="datetime64[ns]"),
        "closed_at": pd.Series([], dtype="datetime64[ns]"),
        "balance": pd.Series([], dtype="float64"),
    })
