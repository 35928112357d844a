"""Single-stage benchmarks, each runnable alone in its own process.

    python -m bench.stages import --size 100k        # issue 3 goal: 1M-row CSV in <= 15 s
    python -m bench.stages segmentation --size 1m    # issue 4 goal: <= 10 s at 1M customers
    python -m bench.stages recommend --size 1m       # issue 5 goal: top-3 for 1M customers <= 20 s

The modules under test are written in parallel with this harness, so they
are imported lazily: a missing module gives ``status: "not available yet"``
and a signature this harness cannot fill gives ``status: "incompatible"``
with the reason, instead of a crash. Functions are called with the
arguments their signatures ask for, by parameter name.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import inspect
import json
import sys
import tempfile
import time
import traceback
from pathlib import Path

from bench.frames import as_of_date, canonical_transactions
from bench.sizes import DEFAULT_DATA_DIR, SIZES, ensure_data

GIVEN_K = 6
WARM_UP_ROWS = 20_000
WARM_UP_CUSTOMERS = 2_000
STAGES = ("import", "segmentation", "recommend")


class NotAvailable(Exception):
    """The module or function under test does not exist yet."""


class Incompatible(Exception):
    """The function exists but asks for arguments this harness cannot supply."""


def load(module: str, name: str):
    """Import ``module.name`` lazily, or raise NotAvailable."""
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and (module == exc.name or module.startswith(exc.name + ".")):
            raise NotAvailable(f"{module} is not written yet") from exc
        raise
    if not hasattr(mod, name):
        raise NotAvailable(f"{module}.{name} is not written yet")
    return getattr(mod, name)


def call_with(fn, **available):
    """Call ``fn`` with the ``available`` values its signature names.

    An optional parameter is passed only when its value is not None; a
    required one is passed whatever its value (None included). Raises
    Incompatible when a required parameter is not available at all.
    """
    kwargs = {}
    for pname, param in inspect.signature(fn).parameters.items():
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            continue
        required = param.default is inspect.Parameter.empty
        if pname in available and (required or available[pname] is not None):
            kwargs[pname] = available[pname]
        elif required:
            raise Incompatible(f"{fn.__module__}.{fn.__qualname__} needs '{pname}', which the benchmark does "
                               f"not know how to supply (known: {', '.join(sorted(available))})")
    return fn(**kwargs)


def _config(module: str, cls: str, **overrides):
    """A default config dataclass with fields overridden where they exist (also one level down), else None."""
    try:
        config_cls = load(module, cls)
    except NotAvailable:
        return None
    return _override(config_cls(), overrides)


def _override(config, overrides: dict):
    """``config`` with every field named in ``overrides`` replaced, in it or in its dataclass fields."""
    if not dataclasses.is_dataclass(config):
        return config
    changes = {}
    for f in dataclasses.fields(config):
        value = getattr(config, f.name)
        if f.name in overrides:
            changes[f.name] = overrides[f.name]
        elif dataclasses.is_dataclass(value):
            changes[f.name] = _override(value, overrides)
    return dataclasses.replace(config, **changes)


BENCH_UPLOAD_MB = 4000


def _timed(fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    return result, round(time.perf_counter() - started, 3)


def bench_import(data: dict) -> dict:
    """Import the size's transactions CSV into a fresh SQLite database with crm_core.ingest.import_file."""
    import_file = load("crm_core.ingest", "import_file")
    from crm_core.auth import Actor, Role
    from crm_core.store import Database

    with tempfile.TemporaryDirectory(dir=Path(data["transactions"]).parent) as tmp:
        db = Database.open(f"sqlite:///{Path(tmp) / 'import.db'}")
        db.upgrade()
        path = Path(data["transactions"])
        actor = Actor("bench", Role.ANALYST)
        from crm_core.ingest import IngestConfig

        config = IngestConfig(max_upload_mb=BENCH_UPLOAD_MB)  # the 1m file is 800 MB, over the 200 MB default
        report, seconds = _timed(call_with, import_file, db=db, workspace="bench", source=path,
                                 kind="transactions", actor=actor, accept_rejects=True, config=config)
        db.engine.dispose()
    summary = {k: getattr(report, k) for k in ("rows_read", "rows_loaded", "rows_rejected", "rows_warned")
               if hasattr(report, k)}
    summary["import_status"] = getattr(report, "status", None)
    return {"rows": data["lines"], **summary, "seconds": seconds}


def _features(data: dict):
    """Canonical tx, as-of, features and the seconds features took (after a small untimed warm-up)."""
    customer_features = load("crm_core.features", "customer_features")
    tx = canonical_transactions(data["transactions"])
    as_of = as_of_date(tx)
    warm = tx.head(WARM_UP_ROWS)
    call_with(customer_features, tx=warm, transactions=warm, as_of=as_of)  # lazy imports, caches
    features, seconds = _timed(call_with, customer_features, tx=tx, transactions=tx, as_of=as_of)
    return tx, as_of, features, seconds


def _segment(features, tx, as_of, k, *, warm_up: bool = True):
    """Segment ``features`` with k given (None: auto); returns (result, seconds)."""
    segment_customers = load("crm_core.segment", "segment_customers")
    config = _config("crm_core.segment.settings", "SegmentConfig", k=k)

    def once(f, t):
        return call_with(segment_customers, features=f, tx=t, transactions=t, as_of=as_of, config=config)

    if warm_up:  # first calls pay for lazy imports (scikit-learn, scipy); keep that out of the figure
        once(features.head(WARM_UP_CUSTOMERS), tx[tx["customer_id"].isin(features.index[:WARM_UP_CUSTOMERS])])
    return _timed(once, features, tx)


def bench_segmentation(data: dict) -> dict:
    """Features, then segmentation with k given; auto-k's run reported separately."""
    tx, as_of, features, feature_seconds = _features(data)
    result, given_seconds = _segment(features, tx, as_of, GIVEN_K)
    out = {"customers": int(len(features)), "features_seconds": feature_seconds,
           "segment_seconds_k_given": given_seconds, "k_given": GIVEN_K,
           "segment_stage_timings": getattr(result, "timings", None),
           "seconds": round(feature_seconds + given_seconds, 3)}
    try:
        auto, auto_seconds = _segment(features, tx, as_of, None, warm_up=False)
        out["segment_seconds_auto_k"] = auto_seconds
        out["auto_k_extra_seconds"] = round(auto_seconds - given_seconds, 3)
        clustering = (getattr(auto, "params", None) or {}).get("clustering", {})
        out["auto_k_chosen"] = clustering.get("k") if isinstance(clustering, dict) else None
    except Exception as exc:  # auto-k is a bonus figure: report, don't fail the stage
        out["auto_k_error"] = f"{type(exc).__name__}: {exc}"
    return out


def bench_recommend(data: dict) -> dict:
    """Top-3 offers for every customer with crm_core.recommend.engine.recommend (features and segments untimed)."""
    recommend = load("crm_core.recommend.engine", "recommend")
    import pandas as pd

    tx, as_of, features, _ = _features(data)
    segments, _ = _segment(features, tx, as_of, GIVEN_K)
    seg_customers = getattr(segments, "customers", None)
    customers = features.join(seg_customers, how="left") if isinstance(seg_customers, pd.DataFrame) else features
    products = pd.read_csv(data["products"], dtype={"product_id": "string", "name": "string", "family": "string"})
    config = _config("crm_core.recommend.settings", "RecommendConfig", top_n=3)
    offers, seconds = _timed(call_with, recommend, tx=tx, transactions=tx, features=customers, products=products,
                             holdings=None, as_of=as_of.date(), top_n=3, config=config)
    return {"customers": int(len(customers)), "offers": int(len(offers)) if hasattr(offers, "__len__") else None,
            "customers_with_offers": int(offers["customer_id"].nunique()) if "customer_id" in getattr(
                offers, "columns", ()) else None,
            "seconds": seconds}


BENCHMARKS = {"import": bench_import, "segmentation": bench_segmentation, "recommend": bench_recommend}


def run_stage(name: str, data: dict) -> dict:
    """Run one benchmark and return its result with a ``status``; never raises for the code under test."""
    try:
        return {"status": "ok", **BENCHMARKS[name](data)}
    except NotAvailable as exc:
        return {"status": "not available yet", "reason": str(exc)}
    except Incompatible as exc:
        return {"status": "incompatible", "reason": str(exc)}
    except Exception as exc:
        return {"status": "failed", "reason": f"{type(exc).__name__}: {exc}",
                "traceback": traceback.format_exc(limit=8)}


def main(argv: list[str] | None = None) -> int:
    """Worker entry: run one stage on one size and print (or write) its JSON result."""
    parser = argparse.ArgumentParser(prog="python -m bench.stages", description="Run one stage benchmark.")
    parser.add_argument("stage", choices=STAGES)
    parser.add_argument("--size", choices=list(SIZES), default="small")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="write the result here instead of printing it")
    args = parser.parse_args(argv)
    data = ensure_data(SIZES[args.size], args.data_dir, args.seed)
    result = run_stage(args.stage, data)
    text = json.dumps(result, indent=2, default=str)
    if args.json:
        args.json.write_text(text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
