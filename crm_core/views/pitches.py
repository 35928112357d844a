"""The read side of pitches: an offer's saved versions, the newest pitch per offer, and what a draft is made from.

A pitch is saved as versions (``pitches`` table, one row per version); the
newest version is the offer's pitch. :func:`pitch_inputs` gathers, for a set of
offers, every column the allowlist (:func:`crm_core.pitch.fields.pitch_fields`)
may read, next to the ids a use case needs: the explanation is rendered from
its stored code and parameters and the family worked out as the Offers page
does (:func:`crm_core.views.offers.product_families`), the price comes from the
catalogue, else from the price the audit gate judged the offer on (its stored
facts). Nothing here writes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

import pandas as pd
from sqlalchemy import and_, func, select

from crm_core.errors import NotFound, ValidationError
from crm_core.money import minor_per_major
from crm_core.pitch.checks import CheckFailure
from crm_core.recommend.explain import render_explanations
from crm_core.segment.rfm import segment_labels
from crm_core.store.models import Customer, Offer, Pitch, Product, RunCluster, RunCustomer, Workspace
from crm_core.views.offers import product_families, run_top_n

INPUT_COLUMNS = ("offer_id", "workspace_id", "run_id", "customer_pk", "customer_id", "state", "first_name",
                 "segment_label", "persona", "scenario", "product_name", "family", "price", "explanation")
NEWEST_COLUMNS = ("offer_id", "pitch_id", "version", "source", "model", "tone", "channel", "language",
                  "failures", "created_by", "created_at")
_CHUNK = 10_000  # ids per IN (...) list: far below SQLite's 32,766 bound parameters


@dataclass(frozen=True)
class PitchVersion:
    """One saved version of an offer's pitch.

    Attributes:
        source: ``llm``, ``template`` or ``edited``.
        model: the model that wrote it (None for a template or an edit).
        reason: why this source, in English (e.g. "no API key configured"); None for an edit.
        failures: the checks the text failed when it was saved (empty: it passed).
        created_at: UTC.
    """

    pitch_id: int
    offer_id: int
    version: int
    text: str
    subject: str | None
    source: str
    model: str | None
    tone: str | None
    channel: str | None
    language: str | None
    request_hash: str | None
    reason: str | None
    failures: tuple[CheckFailure, ...]
    created_by: str
    created_at: dt.datetime

    @property
    def failure_codes(self) -> str:
        """The failed check codes joined by ``;`` ('' when it passed): the gate's ``pitch_failures`` fact."""
        return ";".join(f.code for f in self.failures)

    @property
    def described(self) -> str:
        """The source and why: "Drafted by claude-…", "Template: no API key configured", "Edited by ann"."""
        if self.source == "llm":
            return f"Drafted by {self.model or 'the AI service'}"
        if self.source == "template":
            return f"Template: {self.reason}" if self.reason else "Template"
        return f"Edited by {self.created_by}"


@dataclass(frozen=True)
class PitchContext:
    """What the pitches of one workspace are written in: ``currency`` (ISO code) and ``language`` (code or name)."""

    workspace_id: int
    currency: str
    language: str


def pitch_versions(db, offer_id: int) -> tuple[PitchVersion, ...]:
    """Every saved version of the offer's pitch, newest first (empty when none was saved)."""
    with db.read() as s:
        rows = s.scalars(select(Pitch).where(Pitch.offer_id == int(offer_id))
                         .order_by(Pitch.version.desc(), Pitch.id.desc())).all()
        return tuple(_version(p) for p in rows)


def offer_pitch(db, offer_id: int) -> PitchVersion | None:
    """The offer's pitch: its newest saved version, or None."""
    with db.read() as s:
        row = s.scalar(select(Pitch).where(Pitch.offer_id == int(offer_id))
                       .order_by(Pitch.version.desc(), Pitch.id.desc()).limit(1))
        return None if row is None else _version(row)


def newest_pitches(db, offer_ids: Iterable[int]) -> pd.DataFrame:
    """The newest pitch of each of ``offer_ids`` that has one (no text: for tables and counts).

    Returns:
        Columns :data:`NEWEST_COLUMNS`, one row per offer with a pitch, by offer id;
        ``failures`` holds the failed check codes joined by ``;``, ``created_at`` is UTC.
    """
    rows = []
    with db.read() as s:
        for chunk in _chunks(offer_ids):
            newest = (select(Pitch.offer_id, func.max(Pitch.version).label("version"))
                      .where(Pitch.offer_id.in_(chunk)).group_by(Pitch.offer_id).subquery())
            rows += s.execute(
                select(Pitch.offer_id, Pitch.id, Pitch.version, Pitch.source, Pitch.model, Pitch.tone, Pitch.channel,
                       Pitch.language, Pitch.failures_json, Pitch.created_by, Pitch.created_at)
                .join(newest, and_(newest.c.offer_id == Pitch.offer_id, newest.c.version == Pitch.version))).all()
    frame = pd.DataFrame(rows, columns=["offer_id", "pitch_id", "version", "source", "model", "tone", "channel",
                                        "language", "failures", "created_by", "created_at"])
    frame["failures"] = [";".join(f.get("code", "") for f in (x or [])) for x in frame["failures"]]
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)  # SQLite gives stored UTC back naive
    frame = frame.drop_duplicates("offer_id", keep="last").sort_values("offer_id", kind="mergesort")
    return frame.astype({"offer_id": "int64", "pitch_id": "int64", "version": "int64"}).reset_index(drop=True)


def pitch_context(db, offer_ids: Sequence[int]) -> PitchContext:
    """The workspace of ``offer_ids`` with its currency and pitch language.

    Raises:
        NotFound: an offer id does not exist (the message names up to five).
        ValidationError: no offer given, or offers of more than one workspace.
    """
    ids = _unique(offer_ids)
    if not ids:
        raise ValidationError("No offer was given: pick at least one offer.")
    with db.read() as s:
        found: dict[int, int] = {}
        for chunk in _chunks(ids):
            found.update(s.execute(select(Offer.id, Offer.workspace_id).where(Offer.id.in_(chunk))).all())
        missing = [i for i in ids if i not in found]
        if missing:
            raise NotFound(f"There is no offer {', '.join(f'#{i}' for i in missing[:5])}"
                           f"{' (and more)' if len(missing) > 5 else ''}: pick offers from the Offers page.")
        workspaces = set(found.values())
        if len(workspaces) != 1:
            raise ValidationError("The offers belong to more than one workspace: draft one workspace's offers "
                                  "at a time.")
        ws = s.get(Workspace, workspaces.pop())
        return PitchContext(ws.id, ws.currency, ws.language or "en")


def pitch_inputs(db, offer_ids: Sequence[int]) -> pd.DataFrame:
    """Everything a pitch of each offer may be made from, one row per offer, in the order of ``offer_ids``.

    Returns:
        Columns :data:`INPUT_COLUMNS`: ids (``customer_pk`` is the store's key,
        ``customer_id`` the customer's code), the offer's ``state``, and the
        allowlist's fields: ``first_name``, ``segment_label``, ``persona``,
        ``scenario``, ``product_name``, ``family`` (as the Offers page shows it),
        ``price`` (exact text in major units: the catalogue price, else the price in
        the offer's stored facts, else None) and ``explanation`` (the rendered
        sentence). Unknown ids are left out.
    """
    ids = _unique(offer_ids)
    rows = []
    with db.read() as s:
        for chunk in _chunks(ids):
            rows += s.execute(
                select(Offer.id, Offer.workspace_id, Offer.run_id, Offer.customer_id, Customer.customer_code,
                       Offer.state, Customer.first_name, RunCustomer.rfm_segment, RunCluster.persona_name,
                       Offer.scenario, Offer.product_id, Product.name, Product.price_minor,
                       Offer.facts_json["price"].as_float(), Workspace.currency_decimals, Offer.explanation_code,
                       Offer.explanation_params_json)
                .join(Customer, Customer.id == Offer.customer_id).join(Product, Product.id == Offer.product_id)
                .join(Workspace, Workspace.id == Offer.workspace_id)
                .outerjoin(RunCustomer, and_(RunCustomer.run_id == Offer.run_id,
                                             RunCustomer.customer_id == Offer.customer_id))
                .outerjoin(RunCluster, and_(RunCluster.run_id == Offer.run_id,
                                            RunCluster.cluster == RunCustomer.cluster))
                .where(Offer.id.in_(chunk))).all()
    frame = pd.DataFrame(rows, columns=["offer_id", "workspace_id", "run_id", "customer_pk", "customer_id", "state",
                                        "first_name", "segment", "persona", "scenario", "product_pk", "product_name",
                                        "price_minor", "fact_price", "decimals", "code", "params"])
    if frame.empty:
        return pd.DataFrame(columns=list(INPUT_COLUMNS))
    frame["segment_label"] = segment_labels(frame["segment"].astype("string"))
    frame["price"] = [_price(minor, fact, decimals) for minor, fact, decimals
                      in zip(frame["price_minor"], frame["fact_price"], frame["decimals"])]
    frame["family"], frame["explanation"] = None, None
    for run_id, where in frame.groupby("run_id").indices.items():  # the family and sentence the Offers page shows
        run = frame.iloc[where]
        families = product_families(db, int(run_id), run["product_pk"].unique().tolist())
        frame.iloc[where, frame.columns.get_loc("family")] = run["product_pk"].map(families).to_numpy(dtype=object)
        params = [p if isinstance(p, dict) else {} for p in run["params"]]
        frame.iloc[where, frame.columns.get_loc("explanation")] = render_explanations(
            run["code"].astype(str), params, run_top_n(db, int(run_id)))
    order = {offer_id: i for i, offer_id in enumerate(ids)}
    frame = frame.sort_values("offer_id", key=lambda c: c.map(order), kind="mergesort").reset_index(drop=True)
    frame = frame[list(INPUT_COLUMNS)].astype(object)
    return frame.where(frame.notna(), None)


def customer_first_names(db, workspace_id: int) -> frozenset[str]:
    """The distinct first names of the workspace's customers (for the PITCH_OTHER_NAME check; never sent)."""
    with db.read() as s:
        names = s.scalars(select(Customer.first_name).distinct()
                          .where(Customer.workspace_id == workspace_id, Customer.first_name.is_not(None))).all()
    return frozenset(n.strip() for n in names if n and n.strip())


def run_offer_ids(db, run_id: int, *, state: str | None = None, limit: int | None = None) -> list[int]:
    """Ids of the run's offers (in ``state`` when given), best score first, then customer and rank."""
    stmt = (select(Offer.id).join(Customer, Customer.id == Offer.customer_id).where(Offer.run_id == int(run_id))
            .order_by(Offer.score.desc(), Customer.customer_code, Offer.rank))
    if state is not None:
        stmt = stmt.where(Offer.state == state)
    if limit is not None:
        stmt = stmt.limit(max(int(limit), 0))
    with db.read() as s:
        return [int(i) for i in s.scalars(stmt)]


def _version(p: Pitch) -> PitchVersion:
    created = p.created_at if p.created_at.tzinfo else p.created_at.replace(tzinfo=dt.timezone.utc)
    failures = tuple(CheckFailure(str(f.get("code", "")), str(f.get("message", ""))) for f in (p.failures_json or []))
    return PitchVersion(pitch_id=p.id, offer_id=p.offer_id, version=p.version, text=p.text, subject=p.subject,
                        source=p.source, model=p.model, tone=p.tone, channel=p.channel, language=p.language,
                        request_hash=p.request_hash, reason=p.reason, failures=failures, created_by=p.created_by,
                        created_at=created)


def _price(price_minor, fact_price, decimals) -> str | None:
    """The offer's price as exact text in major units: catalogue price, else the gate's stored fact, else None."""
    if not pd.isna(price_minor):
        return str(Decimal(int(price_minor)) / minor_per_major(decimals))
    if not pd.isna(fact_price):
        return f"{float(fact_price):.2f}"
    return None


def _unique(ids: Iterable[int]) -> list[int]:
    return list(dict.fromkeys(int(i) for i in ids))


def _chunks(ids: Iterable[int]) -> list[list[int]]:
    ids = [int(i) for i in ids]
    return [ids[i:i + _CHUNK] for i in range(0, len(ids), _CHUNK)]


TEXT_COLUMNS = ["offer_id", "pitch_version", "pitch_subject", "pitch_text", "pitch_source"]


def newest_pitch_texts(session, offer_ids, *, created_by_time: dt.datetime | None = None) -> pd.DataFrame:
    """The newest pitch, with its text, of each offer that has one: the one home of "an offer's pitch".

    Args:
        session: an open read session (the review queue and the export read it inside their own).
        offer_ids: the offers: ids, or a SQL select of offer ids (e.g. a campaign's).
        created_by_time: only versions saved at or before this time (naive or aware UTC); None: all.
    Returns:
        Columns :data:`TEXT_COLUMNS` (``offer_id``, ``pitch_version``, ``pitch_subject``, ``pitch_text``,
        ``pitch_source``), one row per offer with a pitch, by offer id.
    """
    chunks = [offer_ids] if hasattr(offer_ids, "subquery") else _chunks(offer_ids)
    rows = []
    for chunk in chunks:
        stmt = select(Pitch.offer_id, Pitch.version, Pitch.subject, Pitch.text, Pitch.source).where(
            Pitch.offer_id.in_(chunk))
        if created_by_time is not None:
            stmt = stmt.where(Pitch.created_at <= created_by_time)
        rows += session.execute(stmt.order_by(Pitch.offer_id, Pitch.version, Pitch.id)).all()
    frame = pd.DataFrame(rows, columns=TEXT_COLUMNS).drop_duplicates("offer_id", keep="last")
    return frame.reset_index(drop=True).astype({"offer_id": "int64", "pitch_version": "int64",
                                                "pitch_subject": "string", "pitch_text": "string",
                                                "pitch_source": "string"})
