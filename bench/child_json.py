"""A benchmark child process that writes its figures as JSON to a file it is given."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path


def child_json(run_child, command: Callable[[str], list[str]], log_dir: Path, name: str,
               timeout: float) -> tuple[dict | None, dict]:
    """Run ``command(result_path)`` through ``run_child`` (:func:`bench.run.run_child`).

    Returns:
        The JSON the child wrote (None when it wrote none) and the child's record
        (``exit_code``, ``stderr_tail``, wall time, peak RSS).
    """
    with tempfile.TemporaryDirectory() as tmp:
        result = Path(tmp) / "result.json"
        child = run_child(command(str(result)), log_dir, name, timeout)
        figures = json.loads(result.read_text()) if result.exists() else None
    return figures, child
