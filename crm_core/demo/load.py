"""Load the demo worlds into an empty database: import their files, then run the pipeline."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable

from crm_core.auth import SYSTEM_CLI
from crm_core.config import Config

DEMO_WORLDS = (("Demo shop", "retail"), ("Demo bank", "bank"))
_FILE_ORDER = ("products", "customers", "transactions", "holdings")


def load_demo_worlds(db, *, config: Config | None = None, progress: Callable[[str], None] = print) -> list[str]:
    """Generate, import and run both demo worlds; returns the workspace names created."""
    from crm_core.demo import generate_bank, generate_retail, write_world
    from crm_core.ingest import import_file
    from crm_core.services.pipeline import run_pipeline
    from crm_core.services.workspaces import ensure_workspace

    config = config or Config()
    names = []
    for name, kind in DEMO_WORLDS:
        progress(f"generating {name}")
        world = generate_retail() if kind == "retail" else generate_bank()
        ws = ensure_workspace(db, name, SYSTEM_CLI, kind=kind,
                              currency="GBP" if kind == "retail" else "EUR",
                              description="Generated demo data (seeded, deterministic)")
        with tempfile.TemporaryDirectory(prefix="nextbest-demo-") as tmp:
            write_world(world, Path(tmp), fmt="csv")
            for dataset in _FILE_ORDER:
                path = Path(tmp) / f"{dataset}.csv"
                if path.exists():
                    progress(f"importing {name}: {dataset}")
                    import_file(db, name, path, kind=dataset, actor=SYSTEM_CLI, config=config.ingest,
                                accept_rejects=True)
        progress(f"running the pipeline for {name}")
        run_pipeline(db, ws, SYSTEM_CLI, config)
        names.append(name)
    return names
