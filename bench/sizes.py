"""Benchmark sizes and their generated data files (reused while the parameters match)."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import crm_core.demo
from crm_core.demo import write_scaled_products, write_scaled_transactions

DEFAULT_DATA_DIR = Path(__file__).resolve().parent / "data"
GENERATOR_SOURCES = Path(crm_core.demo.__file__).resolve().parent


def generator_fingerprint() -> str:
    """A hash of the generator's source, so data written by an older generator is regenerated."""
    digest = hashlib.sha256()
    for path in sorted(GENERATOR_SOURCES.glob("*.py")):
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class Size:
    """One benchmark size: customers and transaction lines."""

    name: str
    customers: int
    lines: int


SIZES = {
    "small": Size("small", 2_000, 20_000),
    "100k": Size("100k", 100_000, 1_000_000),
    "1m": Size("1m", 1_000_000, 10_000_000),
}
DEFAULT_SIZES = ("100k", "1m")


def parse_sizes(text: str) -> list[Size]:
    """``"small,100k"`` -> the sizes; raises ValueError naming the known ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in SIZES]
    if unknown or not names:
        raise ValueError(f"Unknown size(s) {unknown or text!r}: choose from {', '.join(SIZES)}")
    return [SIZES[n] for n in names]


def ensure_data(size: Size, data_dir: Path, seed: int = 7) -> dict:
    """Generate ``transactions-<size>.csv`` and ``products.csv`` unless already there with the same parameters.

    Returns:
        ``{"transactions": path, "products": path, "lines": n, "bytes": n,
        "reused": bool, "generate_seconds": s}`` (paths as strings).
    """
    data_dir.mkdir(parents=True, exist_ok=True)
    csv = data_dir / f"transactions-{size.name}.csv"
    meta_path = data_dir / f"transactions-{size.name}.json"
    params = {**asdict(size), "seed": seed, "generator": generator_fingerprint()}
    products = write_scaled_products(data_dir / "products.csv")  # tiny: always rewritten
    meta = json.loads(meta_path.read_text()) if meta_path.exists() else {}
    if csv.exists() and meta.get("params") == params:
        return {"transactions": str(csv), "products": str(products), "lines": meta["lines"],
                "bytes": csv.stat().st_size, "reused": True, "generate_seconds": meta.get("generate_seconds")}
    started = time.perf_counter()
    lines = write_scaled_transactions(csv, size.customers, size.lines, seed)
    seconds = round(time.perf_counter() - started, 3)
    meta_path.write_text(json.dumps({"params": params, "lines": lines, "generate_seconds": seconds}, indent=2))
    return {"transactions": str(csv), "products": str(products), "lines": lines,
            "bytes": csv.stat().st_size, "reused": False, "generate_seconds": seconds}
