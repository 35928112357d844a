"""Model health: the offline evaluation of the offer engine on a workspace's own data, with a grade.

:func:`evaluate_workspace` reads the workspace's canonical frames, runs
:func:`crm_core.recommend.evaluate.evaluate` (issue 5's exact definitions:
train on or before the cutoff, truth in the H days after it, two tracks) and
grades the engine against the best baseline of each track with the one
grade rule of :mod:`crm_core.recommend.health` (A, B or C).

The evaluation changes nothing, but it is a heavy computation over all the
data, so running it needs the role that may run the pipeline.
"""

from __future__ import annotations

import datetime as dt

import pandas as pd
from sqlalchemy import func, select

from crm_core.auth import Action, Actor, require
from crm_core.errors import ConfigError
from crm_core.recommend.cutoffs import check_cutoffs, cutoff_schedule, evaluate_cutoffs
from crm_core.recommend.evaluate import evaluate
from crm_core.recommend.health import (  # noqa: F401
    GRADE_MEANINGS,
    ModelHealth,
    TooLittleDataToEvaluate,
    grade_from_ratios,
    health_from_evaluation,
)
from crm_core.recommend.settings import RecommendConfig
from crm_core.store import frames
from crm_core.store.audit_log import record_event
from crm_core.store.models import ImportBatch, ModelHealthCheck


def default_cutoff(last_date: dt.date, horizon_days: int) -> dt.date:
    """The cutoff that leaves exactly ``horizon_days`` of truth after it: the last date minus the horizon."""
    return last_date - dt.timedelta(days=int(horizon_days))


def evaluate_workspace(db, workspace_id: int, *, actor: Actor | None, config, cutoff: dt.date | None = None,
                       horizon_days: int = 90, top_n: int = 3) -> ModelHealth:
    """Evaluate the offer engine on a workspace's data and grade it against the baselines.

    Args:
        db: the Database.
        workspace_id: the workspace whose transactions (and products, holdings) are used.
        actor: who asks; needs Action.RUN_PIPELINE (analyst and up).
        config: the composed ``crm_core.config.Config`` (its ``recommend`` section is
            used) or a ``RecommendConfig``.
        cutoff: last day of the training data; default the last transaction date
            minus ``horizon_days``.
        horizon_days: length of the truth window H (days after the cutoff).
        top_n: offers per customer N.
    Returns:
        A :class:`ModelHealth`.
    Raises:
        PermissionDenied: the actor may not run the pipeline.
        ConfigError: ``horizon_days`` or ``top_n`` below 1.
        TooLittleDataToEvaluate: no transactions, no sales on or before the
            cutoff, or no customer buying in the window.
    """
    evaluation, cutoff = evaluate_offers(db, workspace_id, actor=actor, config=config, cutoff=cutoff,
                                         horizon_days=horizon_days, top_n=top_n)
    return health_from_evaluation(evaluation, workspace_id=workspace_id, cutoff=cutoff,
                                  horizon_days=horizon_days, top_n=top_n)


def evaluate_offers(db, workspace_id: int, *, actor: Actor | None, config, cutoff: dt.date | None = None,
                    horizon_days: int = 90, top_n: int = 3, with_catalog: bool = True, with_holdings: bool = True,
                    with_customers: bool = False) -> tuple[dict, dt.date]:
    """The raw offline evaluation of a workspace (before grading) and the cutoff it used.

    Same arguments and errors as :func:`evaluate_workspace`. ``with_catalog``, ``with_holdings``
    and ``with_customers`` say which of the stored products, holdings and customers (as of the
    cutoff) the evaluation sees. Returns ``(evaluation, cutoff)``.
    """
    data = _workspace_data(db, workspace_id, actor=actor, horizon_days=horizon_days, top_n=top_n)
    cutoff = cutoff or default_cutoff(data["last"], horizon_days)
    _check_history_before(data, cutoff, horizon_days)
    customers = frames.read_customers(db, workspace_id, cutoff) if with_customers else None
    evaluation = evaluate(data["tx"], cutoff=cutoff, horizon_days=horizon_days, top_n=top_n,
                          customers=customers, config=_recommend_config(config),
                          **_stored(db, workspace_id, with_catalog, with_holdings))
    return evaluation, cutoff


def evaluate_offers_at_cutoffs(db, workspace_id: int, *, actor: Actor | None, config, cutoffs=None,
                               every_days: int | None = None, horizon_days: int = 90, top_n: int = 3,
                               with_catalog: bool = True, with_holdings: bool = True) -> dict:
    """The offline evaluation at several cutoffs, each reported, with the mean and spread of every figure.

    Args:
        cutoffs: the cutoff dates; or
        every_days: cutoffs this many days apart, back from the latest that leaves a full
            window (see :func:`crm_core.recommend.cutoffs.cutoff_schedule`).
        Other arguments as for :func:`evaluate_offers`.
    Returns:
        :func:`crm_core.recommend.cutoffs.evaluate_cutoffs`'s dict.
    Raises:
        ConfigError: both or neither of ``cutoffs`` and ``every_days``; a cutoff whose window runs
            past the data.
        PermissionDenied, TooLittleDataToEvaluate: as for :func:`evaluate_offers`.
    """
    if (cutoffs is None) == (every_days is None):
        raise ConfigError("Give either the cutoff dates or the number of days between cutoffs, not both.")
    data = _workspace_data(db, workspace_id, actor=actor, horizon_days=horizon_days, top_n=top_n)
    if every_days is not None:
        chosen = cutoff_schedule(data["first"], data["last"], every_days=every_days, horizon_days=horizon_days)
    else:
        chosen = check_cutoffs(cutoffs, data["last"], horizon_days)
    for cutoff in chosen:
        _check_history_before(data, cutoff, horizon_days)
    return evaluate_cutoffs(data["tx"], chosen, horizon_days=horizon_days, top_n=top_n,
                            config=_recommend_config(config), **_stored(db, workspace_id, with_catalog, with_holdings))


def _workspace_data(db, workspace_id: int, *, actor: Actor | None, horizon_days: int, top_n: int) -> dict:
    """The role check, the arguments' check, and the workspace's transactions with their first and last dates."""
    require(actor, Action.RUN_PIPELINE)
    for name, value in (("horizon_days", horizon_days), ("top_n", top_n)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{name} must be a whole number of at least 1, not {value!r}.")
    tx = frames.read_transactions(db, workspace_id)
    if tx.empty:
        raise TooLittleDataToEvaluate("This workspace has no transactions yet: import a sales file, then "
                                      "evaluate the offers.")
    sales = tx.loc[~tx["is_return"].to_numpy(dtype=bool) & tx["customer_id"].notna().to_numpy(dtype=bool),
                   "invoice_date"]
    return {"tx": tx, "sales": sales, "first": tx["invoice_date"].min().date(), "last": tx["invoice_date"].max().date()}


def _check_history_before(data: dict, cutoff: dt.date, horizon_days: int) -> None:
    """Refuse a cutoff with no customer sale on or before it."""
    if not bool((data["sales"] < pd.Timestamp(cutoff + dt.timedelta(days=1))).any()):
        raise TooLittleDataToEvaluate(
            f"There are no customer sales on or before the cutoff {cutoff:%d %b %Y} (the data runs from "
            f"{data['first']:%d %b %Y} to {data['last']:%d %b %Y}). The evaluation needs history before the cutoff "
            f"and {horizon_days} days after it: choose a later cutoff or a shorter horizon, or load more history.")


def _stored(db, workspace_id: int, with_catalog: bool, with_holdings: bool) -> dict:
    """The stored products and holdings the evaluation sees (None when absent or not wanted)."""
    products = frames.read_products(db, workspace_id) if with_catalog else None
    holdings = frames.read_holdings(db, workspace_id) if with_holdings else None
    return {"products": products if products is not None and len(products) else None,
            "holdings": holdings if holdings is not None and len(holdings) else None}


def _recommend_config(config) -> RecommendConfig:
    """The engine settings from a Config, a RecommendConfig or None (defaults)."""
    if config is None:
        return RecommendConfig()
    if isinstance(config, RecommendConfig):
        return config
    section = getattr(config, "recommend", None)
    if isinstance(section, RecommendConfig):
        return section
    raise ConfigError(f"config must be a crm_core.config.Config or a RecommendConfig, not {type(config).__name__}.")


def check_model_health(db, workspace_id: int, *, actor: Actor | None, config, cutoff: dt.date | None = None,
                       horizon_days: int = 90, top_n: int = 3) -> ModelHealth:
    """:func:`evaluate_workspace`, then keep the result so every user sees it (and after a restart).

    Writes one ``model_health_checks`` row and an audit event. Same arguments and errors.
    """
    health = evaluate_workspace(db, workspace_id, actor=actor, config=config, cutoff=cutoff,
                                horizon_days=horizon_days, top_n=top_n)
    with db.unit_of_work() as s:
        batch = s.scalar(select(func.max(ImportBatch.id)).where(ImportBatch.workspace_id == workspace_id))
        check = ModelHealthCheck(workspace_id=workspace_id, batch_id=batch, cutoff=health.cutoff,
                                 horizon_days=health.horizon_days, top_n=health.top_n,
                                 evaluation_json=health.evaluation, created_by=actor.username)
        s.add(check)
        s.flush()
        record_event(s, actor=actor, action="model_health.checked", entity="model_health_check", entity_id=check.id,
                     after={"grade": health.grade, "cutoff": health.cutoff.isoformat(),
                            "horizon_days": health.horizon_days, "top_n": health.top_n},
                     workspace_id=workspace_id)
    return health
