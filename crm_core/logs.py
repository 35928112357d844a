"""Where NextBest writes what went wrong: a rotating log file an admin can read on the Admin page.

``configure_file_logging()`` is called by the entry points (the app and the
CLI); library code only uses ``logging.getLogger(__name__)``. The file is
``data/logs/nextbest.log`` (``NEXTBEST_LOG_DIR`` moves it), rotated at 5 MB,
five files kept. Messages carry ids, never passwords, keys or customer data.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
from collections import deque
from pathlib import Path

ENV_LOG_DIR = "NEXTBEST_LOG_DIR"
LOG_NAME = "nextbest.log"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def log_path() -> Path:
    """The log file (``NEXTBEST_LOG_DIR`` or data/logs/nextbest.log)."""
    folder = os.environ.get(ENV_LOG_DIR) or Path(__file__).resolve().parents[1] / "data" / "logs"
    return Path(folder) / LOG_NAME


def configure_file_logging(level: int = logging.INFO) -> Path:
    """Send the ``crm_core``, ``app`` and ``pages`` loggers to the log file (once per process and file)."""
    path = log_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    for name in ("crm_core", "app", "pages"):
        logger = logging.getLogger(name)
        logger.setLevel(level)
        if not any(getattr(h, "baseFilename", None) == str(path) for h in logger.handlers):
            handler = logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
            handler.setFormatter(logging.Formatter(_FORMAT))
            logger.addHandler(handler)
    return path


def log_tail(lines: int = 200) -> str:
    """The last ``lines`` lines of the log file ("" when there is none yet)."""
    path = log_path()
    if not path.exists():
        return ""
    with path.open(encoding="utf-8", errors="replace") as fh:
        return "".join(deque(fh, maxlen=lines))
