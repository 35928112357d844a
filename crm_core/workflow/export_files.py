"""The files of a campaign export: which kinds there are, what the mailing file holds, writing them safely.

Every file goes through :mod:`crm_core.formula_safety` (no cell can run as a
formula; numbers stay numbers). Files are written next to their target under
a temporary name and moved into place only once every file of the export is
written, so a failure leaves no half-written file behind.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
import pandas as pd

from crm_core.errors import ValidationError
from crm_core.formula_safety import csv_bytes, write_workbook

FILE_KINDS = {".csv": "csv", ".xlsx": "xlsx"}
CAMPAIGN_SHEET, EVIDENCE_SHEET = "Campaign", "Evidence"
EXPORT_COLUMNS = ["customer_id", "first_name", "last_name", "email", "phone", "product_id", "product_name", "family",
                  "scenario", "explanation", "price", "pitch_subject", "pitch_text", "offer_id", "campaign_id"]
CONTACT_COLUMNS = ("first_name", "last_name", "email", "phone")


def file_kind(path: str | Path) -> str:
    """``csv`` or ``xlsx`` from the path's suffix (case-insensitive).

    Raises:
        ValidationError: any other suffix, naming the ones that work.
    """
    suffix = Path(path).suffix.lower()
    if suffix not in FILE_KINDS:
        raise ValidationError(f"Cannot export a campaign to {Path(path).name!r}: the file name must end in .csv "
                              "(the mailing list) or .xlsx (the mailing list and the evidence sheet).")
    return FILE_KINDS[suffix]


def mailing_rows(offers: pd.DataFrame, customers: pd.DataFrame, pitches: pd.DataFrame,
                 campaign_id: int) -> pd.DataFrame:
    """One row per exported offer: who to contact, with what, why, and the pitch.

    Args:
        offers: the exported offers (rows of :func:`crm_core.views.campaigns.campaign_offers`).
        customers: ``customer_id`` (code) and the contact columns (``read_customers``).
        pitches: :func:`crm_core.views.campaigns.newest_pitches`.
        campaign_id: the campaign.
    Returns:
        Columns :data:`EXPORT_COLUMNS`, sorted by customer code (code point order) and rank;
        ``price``, ``offer_id`` and ``campaign_id`` are numbers, the pitch empty when there is none.
    """
    contacts = customers[["customer_id", *CONTACT_COLUMNS]].drop_duplicates("customer_id")
    merged = (offers.merge(contacts, on="customer_id", how="left", validate="many_to_one")
              .merge(pitches[["offer_id", "pitch_subject", "pitch_text"]], on="offer_id", how="left"))
    codes = merged["customer_id"].astype("string").to_numpy(dtype=object).astype(str)
    order = np.lexsort((merged["rank"].to_numpy(dtype="int64"), codes))
    merged = merged.iloc[order].reset_index(drop=True)
    out = pd.DataFrame({name: merged[name].astype("string") for name in EXPORT_COLUMNS[:10]})
    out["price"] = pd.to_numeric(merged["price"], errors="coerce").astype("float64")
    out["pitch_subject"] = merged["pitch_subject"].astype("string").fillna("")
    out["pitch_text"] = merged["pitch_text"].astype("string").fillna("")
    out["offer_id"] = merged["offer_id"].astype("int64")
    out["campaign_id"] = np.full(len(out), int(campaign_id), dtype="int64")
    return out[EXPORT_COLUMNS]


def file_bytes(kind: str, mailing: pd.DataFrame, evidence: pd.DataFrame) -> bytes:
    """The content of one export file: the mailing list as CSV, or both sheets as a workbook."""
    if kind == "csv":
        return csv_bytes(mailing)
    return write_workbook({CAMPAIGN_SHEET: mailing, EVIDENCE_SHEET: evidence})


class StagedFiles:
    """Export files written under temporary names beside their targets, then moved into place together.

    ``stage`` writes each file; ``publish`` renames them all; ``discard`` removes whatever this
    object wrote (temporary or published), for when the export's transaction fails.
    """

    def __init__(self) -> None:
        self._staged: list[tuple[Path, Path]] = []
        self._published: list[Path] = []

    def stage(self, target: Path, data: bytes) -> None:
        """Write ``data`` next to ``target`` under a temporary name (ValidationError when that fails)."""
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        try:
            tmp.write_bytes(data)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise ValidationError(f"Cannot write {target}: {exc.strerror or exc}. Choose a folder you can write "
                                  "to.") from None
        self._staged.append((tmp, target))

    def publish(self) -> None:
        """Move every staged file to its target."""
        for tmp, target in self._staged:
            try:
                os.replace(tmp, target)
            except OSError as exc:
                raise ValidationError(f"Cannot write {target}: {exc.strerror or exc}.") from None
            self._published.append(target)
        self._staged = []

    def discard(self) -> None:
        """Remove the files this export wrote."""
        for tmp, _ in self._staged:
            tmp.unlink(missing_ok=True)
        for target in self._published:
            target.unlink(missing_ok=True)
        self._staged, self._published = [], []
