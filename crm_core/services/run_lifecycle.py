"""A run's life in the store: started (one at a time per workspace), then succeeded, failed, stopped or interrupted.

- **One at a time.** A run starts inside a unit of work that holds the
  workspace's row (:func:`crm_core.store.locks.lock_workspace`) and refuses
  when another run of the workspace is still ``running``: two people pressing
  Run at once get one run and a message naming who started it and when.
- **Never left running.** A failure marks the run ``failed`` with its reason
  and logs the traceback (the Admin page shows the log); anything that stops
  the work without being an error — the user leaving the page (Streamlit's
  stop and rerun exceptions are not ``Exception``), Ctrl-C, a shutdown —
  marks it ``stopped``.
- **Crashed processes.** Each run records the process running it
  (``runner``, host and pid). When a process died mid-run, its run is marked
  ``interrupted`` at the next start-up of the app or the CLI, or when the
  next run of the workspace finds it.
"""

from __future__ import annotations

import logging
import os
import socket
import traceback

from sqlalchemy import select, update

from crm_core.errors import NextBestError
from crm_core.store.locks import lock_workspace
from crm_core.store.models import PipelineRun, utc_now

log = logging.getLogger(__name__)
RUNNING, SUCCEEDED, FAILED, STOPPED, INTERRUPTED = "running", "succeeded", "failed", "stopped", "interrupted"


class RunInProgress(NextBestError):
    """Another run of the same workspace has not finished yet."""


def this_runner() -> str:
    """``host:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _dead(runner: str | None) -> bool:
    """Whether ``runner`` was a process on this machine that no longer exists."""
    host, _, pid = (runner or "").rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    if int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False


def start_run(db, row: PipelineRun) -> int:
    """Insert ``row`` as ``running`` unless the workspace has a run in progress; returns its id.

    Raises:
        RunInProgress: naming who started the other run and when.
    """
    with db.unit_of_work() as s:
        lock_workspace(s, row.workspace_id)
        for other in s.scalars(select(PipelineRun).where(PipelineRun.workspace_id == row.workspace_id,
                                                         PipelineRun.status == RUNNING)):
            if _dead(other.runner):
                other.status, other.finished_at = INTERRUPTED, utc_now()
                other.error = "Interrupted: the process running it ended before it finished."
                continue
            started = other.started_at
            when = f"{started:%d %b %Y %H:%M} UTC" if started else "earlier"
            raise RunInProgress(f"A run of this workspace is already in progress (run #{other.id}, started by "
                                f"{other.created_by} at {when}). Wait for it to finish, then run again.")
        row.status, row.runner = RUNNING, this_runner()
        s.add(row)
        s.flush()
        return row.id


def finish_failed(db, run_id: int, exc: BaseException, stage: str) -> None:
    """Mark the run failed with a one-line reason; the traceback goes to the log, never to the page."""
    log.error("run %s failed in its %s stage:\n%s", run_id, stage,
              "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)))
    reason = str(exc) if isinstance(exc, NextBestError) else f"{type(exc).__name__}: {exc}"
    _set(db, run_id, FAILED, f"Failed in the {stage} stage: {reason}"[:2000])


def finish_stopped(db, run_id: int, exc: BaseException, stage: str) -> None:
    """Mark the run stopped: it was stopped from outside (page left, Ctrl-C, shutdown), not by an error."""
    log.warning("run %s stopped in its %s stage (%s)", run_id, stage, type(exc).__name__)
    _set(db, run_id, STOPPED, f"Stopped in the {stage} stage before it finished ({_why(exc)}); nothing of it "
                              "was stored. Run it again.")


def _why(exc: BaseException) -> str:
    name = type(exc).__name__
    if name in ("StopException", "RerunException"):
        return "the page was left or reloaded"
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted"
    if isinstance(exc, SystemExit):
        return "the program was shut down"
    return name


def _set(db, run_id: int, status: str, error: str) -> None:
    with db.unit_of_work() as s:
        s.execute(update(PipelineRun).where(PipelineRun.id == run_id, PipelineRun.status == RUNNING)
                  .values(status=status, finished_at=utc_now(), error=error))


def mark_interrupted_runs(db) -> int:
    """At start-up: runs still ``running`` whose process on this machine is gone become ``interrupted``.

    Returns:
        How many runs were marked.
    """
    with db.unit_of_work() as s:
        rows = s.execute(select(PipelineRun.id, PipelineRun.runner).where(PipelineRun.status == RUNNING)).all()
        dead = [r.id for r in rows if r.runner is None or _dead(r.runner)]
        if dead:
            s.execute(update(PipelineRun).where(PipelineRun.id.in_(dead)).values(
                status=INTERRUPTED, finished_at=utc_now(),
                error="Interrupted: the process running it ended before it finished."))
    if dead:
        log.warning("marked %d run(s) left running by an earlier process as interrupted: %s", len(dead), dead)
    return len(dead)

