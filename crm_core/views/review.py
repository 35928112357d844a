"""The read side of the managers' review queue: one page of offers at a time, counters, filter choices.

The queue shows one run's offers (default: the workspace's newest succeeded run),
by default those still pending. A page is one ``LIMIT/OFFSET`` query (never the
whole run); flag messages, explanations and the newest pitch are rendered for
that page's rows only: flags from the facts stored with each offer and the gate
settings of the run (:func:`crm_core.gate.render_flag_messages`), explanations from
the stored code and parameters (:func:`crm_core.recommend.explain.render_explanations`).
Families follow :mod:`crm_core.views.offers` (:func:`~crm_core.views.offers.product_families`).
Without catalog families a product's family is its commonest category on the sales
lines, so finding it reads those lines (10M lines: 16-60 s for every product, about
a second for a page's few): a page works out only the families its caller does not
know yet and hands them back (``QueuePage.families``) to be kept; a family filter
needs every offered product's family (:func:`queue_families`, asked once per run).

How it stays fast on 3M offers: the index ``(run_id, state, score)`` of revision
0007 serves the default page (pending, best score first) without sorting the run,
and ``(run_id, state, gate)`` serves the counters from the index alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd
from sqlalchemy import and_, func, literal, or_, select

from crm_core.gate import FLAG_CODES, GATES, GateConfig, flag_title, render_flag_messages
from crm_core.recommend.explain import render_explanations
from crm_core.recommend.settings import SCENARIOS
from crm_core.segment.rfm import segment_labels
from crm_core.views.pitches import newest_pitch_texts
from crm_core.store.models import Customer, Offer, PipelineRun, Product, RunCustomer
from crm_core.views.offers import family_product_pks, product_families, run_top_n
from crm_core.views.runs import get_run, latest_run

STATES = ("pending", "flagged", "approved", "rejected", "exported", "superseded")
QUEUE_COLUMNS = [
    "offer_id", "version", "customer_id", "name", "product_id", "product", "family", "scenario", "segment",
    "segment_label", "score", "audit_score", "gate", "flags", "flag_messages", "explanation", "submitted_by",
    "state", "decided_by", "decided_at", "pitch", "pitch_source",
]
ORDERS = {
    "score": (Offer.score.desc(), Offer.id),  # best offers first
    "audit_score": (Offer.audit_score.asc(), Offer.id),  # riskiest first
    "offer": (Offer.id,),
}


@dataclass(frozen=True)
class QueueFilter:
    """Which offers the queue shows; None or empty means "any" for every field.

    Attributes:
        run_id: the run (None: the workspace's newest succeeded run).
        gates: PASS / REVIEW / BLOCK.
        states: review states (default: pending only).
        segments: RFM segment codes of the customers.
        scenarios: scenario codes.
        families: product families (as :func:`crm_core.views.offers.product_families` names them).
        min_score, max_score: audit score bounds (0..100, inclusive).
        flags: flag codes; an offer matches when it raised any of them.
    """

    run_id: int | None = None
    gates: tuple[str, ...] | None = None
    states: tuple[str, ...] | None = ("pending",)
    segments: tuple[str, ...] | None = None
    scenarios: tuple[str, ...] | None = None
    families: tuple[str, ...] | None = None
    min_score: int | None = None
    max_score: int | None = None
    flags: tuple[str, ...] | None = None

    def __post_init__(self):
        for name in ("gates", "states", "segments", "scenarios", "families", "flags"):
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, tuple(str(v) for v in ([value] if isinstance(value, str) else value)))


@dataclass(frozen=True)
class QueuePage:
    """One page of the queue.

    Attributes:
        run_id: the run shown (None when the workspace has no succeeded run).
        rows: columns :data:`QUEUE_COLUMNS`; ``flag_messages`` is a list of English sentences per
            offer (worst first), ``pitch``/``pitch_source`` the newest pitch (<NA> when none).
        total: how many offers match the filter (all pages).
        page, page_size: which page this is (from 0) and its size.
        families: the family of each product on the page, by product key: pass them (merged with
            earlier ones) as ``known_families`` next time and they are not worked out again.
    """

    run_id: int | None
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int
    families: pd.Series | None = None  # product key -> family of this page's products (for the caller to keep)

    @property
    def pages(self) -> int:
        """How many pages the matching offers fill (at least 1)."""
        return max(1, -(-self.total // self.page_size))


@dataclass(frozen=True)
class QueueCounts:
    """Counters of one run's offers.

    Attributes:
        by_state: state -> offers (every state of :data:`STATES`, zeros included).
        by_gate: gate -> offers of the run, any state.
        waiting_by_gate: gate -> pending offers (what waits for a manager).
    """

    run_id: int | None
    by_state: dict[str, int] = field(default_factory=dict)
    by_gate: dict[str, int] = field(default_factory=dict)
    waiting_by_gate: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class QueueChoices:
    """What the queue's filters can take for one run (families: see :func:`queue_families`)."""

    segments: tuple[str, ...]  # RFM segment codes of the run's customers
    scenarios: tuple[str, ...] = SCENARIOS
    gates: tuple[str, ...] = GATES
    states: tuple[str, ...] = STATES
    flags: dict[str, str] = field(default_factory=lambda: {code: flag_title(code) for code in FLAG_CODES})


def queue_run_id(db, workspace_id: int, run_id: int | None = None) -> int | None:
    """The run the queue shows: ``run_id`` checked against the workspace, else its newest succeeded run.

    Raises:
        RunNotFound: ``run_id`` does not exist or belongs to another workspace.
    """
    if run_id is not None:
        return get_run(db, run_id, workspace_id=workspace_id).id
    run = latest_run(db, workspace_id)
    return None if run is None else run.id


def queue_filter_choices(db, run_id: int) -> QueueChoices:
    """The run's segments (from its customers: no pass over the offers), every scenario, gate, state and flag."""
    with db.read() as s:
        segments = s.scalars(select(RunCustomer.rfm_segment).distinct()
                             .where(RunCustomer.run_id == run_id, RunCustomer.rfm_segment.is_not(None))).all()
    return QueueChoices(segments=tuple(sorted(segments)))


def queue_families(db, run_id: int) -> pd.Series:
    """Family of every product the run offers, by product key (for the family filter).

    What :func:`crm_core.views.offers.product_families` says. Without catalog families
    this reads every sales line of the offered products (10M lines: 16-60 s), so the
    queue asks for it only when a family filter is wanted; callers keep it per run and
    pass it to :func:`queue_page` and :func:`matching_offer_versions`.
    """
    families = product_families(db, run_id)
    families.attrs["complete_for_run"] = int(run_id)
    return families


def queue_counts(db, workspace_id: int, run_id: int | None = None) -> QueueCounts:
    """Offers of the run by state and by gate (one grouped query; see the module docstring).

    Raises:
        RunNotFound: as :func:`queue_run_id`.
    """
    run_id = queue_run_id(db, workspace_id, run_id)
    by_state, by_gate, waiting = dict.fromkeys(STATES, 0), dict.fromkeys(GATES, 0), dict.fromkeys(GATES, 0)
    if run_id is None:
        return QueueCounts(None, by_state, by_gate, waiting)
    with db.read() as s:
        rows = s.execute(select(Offer.state, Offer.gate, func.count()).where(Offer.run_id == run_id)
                         .group_by(Offer.state, Offer.gate)).all()
    for state, gate, n in rows:
        by_state[state] = by_state.get(state, 0) + n
        by_gate[gate] = by_gate.get(gate, 0) + n
        if state == "pending":
            waiting[gate] = waiting.get(gate, 0) + n
    return QueueCounts(run_id, by_state, by_gate, waiting)


def queue_page(db, workspace_id: int, filt: QueueFilter, *, page: int = 0, page_size: int = 50,
               order: str = "score", families: pd.Series | None = None,
               known_families: pd.Series | None = None) -> QueuePage:
    """One page of the offers matching ``filt``, with flags and their messages, explanation and pitch.

    Args:
        db: the Database.
        workspace_id: the workspace whose run is shown.
        filt: the filter (its ``run_id`` None: the newest succeeded run).
        page: page number from 0 (past the end: an empty page).
        page_size: rows per page (1..1000).
        order: ``"score"`` (best first), ``"audit_score"`` (lowest first) or ``"offer"`` (by id);
            ties by offer id, so paging is stable.
        families: the run's :func:`queue_families` when the caller keeps them (a family filter
            works them out otherwise).
        known_families: families the caller already knows (any products, by product key, e.g.
            earlier pages' ``QueuePage.families``); the page's other products are worked out.
    Returns:
        QueuePage (``rows`` empty and ``run_id`` None when the workspace has no succeeded run).
    Raises:
        RunNotFound: the run is not the workspace's.
        ValueError: an unknown ``order``.
    """
    if order not in ORDERS:
        raise ValueError(f"Unknown queue order {order!r}; use one of {', '.join(ORDERS)}.")
    page_size = min(max(int(page_size), 1), 1_000)
    page = max(int(page), 0)
    run_id = queue_run_id(db, workspace_id, filt.run_id)
    if run_id is None:
        return QueuePage(None, pd.DataFrame(columns=QUEUE_COLUMNS), 0, page, page_size)
    families = _complete_families(db, run_id, filt, families)
    condition = _condition(run_id, filt, families)
    columns = (Offer.id.label("offer_id"), Offer.version, Customer.customer_code.label("customer_id"),
               Customer.first_name, Customer.last_name, Offer.product_id.label("product_pk"),
               Product.product_code.label("product_id"), Product.name.label("product"), Offer.scenario,
               RunCustomer.rfm_segment.label("segment"), Offer.score, Offer.audit_score, Offer.gate, Offer.flags,
               Offer.facts_json, Offer.explanation_code, Offer.explanation_params_json, Offer.submitted_by,
               Offer.state, Offer.decided_by, Offer.decided_at)
    # The page's ids first, from the offers (and their queue index) alone: an OFFSET deep into the
    # run then skips index entries, not joined rows (page 2,911 of 100k customers: 6 s -> 0.05 s).
    ids_stmt = (_matching(select(Offer.id), filt, condition).order_by(*ORDERS[order])
                .limit(page_size).offset(page * page_size))
    with db.read() as s:
        ids = s.scalars(ids_stmt).all()
        stmt = (_joined(select(*columns)).join(Customer, Customer.id == Offer.customer_id)
                .join(Product, Product.id == Offer.product_id).where(Offer.id.in_(ids)))
        raw = pd.DataFrame(s.execute(stmt).all(), columns=[c.key for c in stmt.selected_columns])
        raw = raw.set_index("offer_id", drop=False).loc[ids].reset_index(drop=True)
        total = int(s.scalar(select(func.count()).select_from(_matching(select(Offer.id), filt, condition)
                                                                   .subquery())) or 0)
        config = s.scalar(select(PipelineRun.config_json).where(PipelineRun.id == run_id)) or {}
        pitches = newest_pitch_texts(s, raw["offer_id"].tolist()).rename(
            columns={"pitch_text": "pitch"})[["offer_id", "pitch", "pitch_source"]]
    page_families = _page_families(db, run_id, raw["product_pk"].unique().tolist(),
                                   families if families is not None else known_families)
    rows = _shape(db, run_id, raw, config, pitches, page_families)
    return QueuePage(run_id, rows, total, page, page_size, page_families)


def matching_offer_versions(db, workspace_id: int, filt: QueueFilter, *,
                            families: pd.Series | None = None) -> dict[int, int]:
    """Every offer matching ``filt`` -> its version now ("all rows that match the filter").

    ``families``: the run's :func:`queue_families` when the caller keeps them (see :func:`queue_page`).
    Raises:
        RunNotFound: as :func:`queue_run_id`.
    """
    run_id = queue_run_id(db, workspace_id, filt.run_id)
    if run_id is None:
        return {}
    families = _complete_families(db, run_id, filt, families)
    stmt = _matching(select(Offer.id, Offer.version), filt, _condition(run_id, filt, families))
    with db.read() as s:
        return {int(i): int(v) for i, v in s.execute(stmt.order_by(Offer.id))}


# --------------------------------------------------------------------------- internals


def _joined(stmt):
    """``stmt`` over the offers with their customers' run segments (outer: a customer may have none)."""
    return stmt.select_from(Offer).outerjoin(
        RunCustomer, and_(RunCustomer.run_id == Offer.run_id, RunCustomer.customer_id == Offer.customer_id))


def _matching(stmt, filt: QueueFilter, condition):
    """``stmt`` restricted to ``condition``; joined with the run's segments only when the filter needs them.

    Counting without the join reads the queue indexes alone (3M offers: a fraction of a second).
    """
    return (_joined(stmt) if filt.segments else stmt.select_from(Offer)).where(condition)


def _complete_families(db, run_id: int, filt: QueueFilter, families: pd.Series | None) -> pd.Series | None:
    """The run's families when the filter names families (``families`` if they are the run's, else read)."""
    if not filt.families:
        return families
    if families is not None and families.attrs.get("complete_for_run") == int(run_id):
        return families
    return queue_families(db, run_id)


def _page_families(db, run_id: int, product_pks: list, known: pd.Series | None) -> pd.Series:
    """The families of ``product_pks``: those ``known``, the others worked out."""
    known = pd.Series(dtype="string") if known is None else known
    missing = [pk for pk in product_pks if pk not in known.index]
    found = product_families(db, run_id, missing) if missing else pd.Series(dtype="string")
    return pd.concat([known.reindex([pk for pk in product_pks if pk in known.index]), found]).astype("string")


def _condition(run_id: int, filt: QueueFilter, families: pd.Series | None):
    """The WHERE clause of ``filt`` on the offers (the segments part needs the run customers joined).

    The run was checked against the workspace (:func:`queue_run_id`), so the workspace is not repeated here.
    """
    parts = [Offer.run_id == run_id]
    for column, values in ((Offer.state, filt.states), (Offer.gate, filt.gates), (Offer.scenario, filt.scenarios),
                           (RunCustomer.rfm_segment, filt.segments)):
        if values:
            parts.append(column.in_(list(values)))
    if filt.min_score is not None:
        parts.append(Offer.audit_score >= int(filt.min_score))
    if filt.max_score is not None:
        parts.append(Offer.audit_score <= int(filt.max_score))
    if filt.families:
        parts.append(Offer.product_id.in_(family_product_pks(families, list(filt.families))))
    if filt.flags:  # codes are stored joined by ';': match whole codes only (LIKE's _ escaped)
        padded = literal(";") + func.coalesce(Offer.flags, "") + literal(";")
        parts.append(or_(*[padded.like(f"%;{_like_escaped(code)};%", escape="\\") for code in filt.flags]))
    return and_(*parts)


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _shape(db, run_id: int, raw: pd.DataFrame, config: dict, pitches: pd.DataFrame,
           families: pd.Series) -> pd.DataFrame:
    """Typed columns, customer name, family, segment label, flag messages, explanation and pitch."""
    flags = raw["flags"].tolist()
    facts = [f if isinstance(f, dict) else {} for f in raw["facts_json"].tolist()]
    params = [p if isinstance(p, dict) else {} for p in raw["explanation_params_json"].tolist()]
    name = raw["first_name"].fillna("").astype(str).str.cat(raw["last_name"].fillna("").astype(str), sep=" ")
    out = raw.assign(
        name=name.str.strip().replace("", None),
        family=raw["product_pk"].map(families),
        segment_label=segment_labels(raw["segment"].astype("string")),
        flag_messages=render_flag_messages(flags, facts, GateConfig.from_dict(config.get("gate") or {}))
        if len(raw) else [],
        explanation=render_explanations(raw["explanation_code"].astype(str), params, run_top_n(db, run_id)),
        decided_at=pd.to_datetime(raw["decided_at"], utc=True),
    ).merge(pitches, on="offer_id", how="left")
    out = out.astype({"offer_id": "int64", "version": "int64", "score": "float64", "audit_score": "Int64",
                      **{c: "string" for c in ("customer_id", "name", "product_id", "product", "family", "scenario",
                                                "segment", "segment_label", "gate", "flags", "explanation",
                                                "submitted_by", "state", "decided_by", "pitch", "pitch_source")}})
    return out[QUEUE_COLUMNS].reset_index(drop=True)
