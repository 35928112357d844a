"""``pitch``: draft and save pitches for a run's offers, headless.

Drafts with the AI service when ``ANTHROPIC_API_KEY`` is set (and
``NEXTBEST_LLM`` is not ``off``), else from templates; every draft is saved
as the offer's newest pitch version and re-gates it, as on the pages. Prints
how many came from the model and how many from templates, grouped by reason.
The first Ctrl-C stops the batch and keeps what was saved; a second one
interrupts at once.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from crm_core.cli.common import acting_user, add_db_options, config_from, open_database
from crm_core.errors import NotFound

STATES = ("pending", "approved")


def add_parser(sub) -> None:
    """Register the ``pitch`` subcommand on ``sub`` (argparse subparsers)."""
    from crm_core.pitch import CHANNELS, TONES

    p = sub.add_parser(
        "pitch", help="draft and save pitches for a run's offers",
        description="Draft a pitch for each offer of a run (default: the workspace's newest succeeded run, its "
                    "pending offers, best score first) and save it as the offer's newest version. Uses the AI "
                    "service when ANTHROPIC_API_KEY is set and NEXTBEST_LLM is not 'off'; templates otherwise. "
                    "Prints how many drafts came from the model and how many from templates, and why.")
    add_db_options(p)
    p.add_argument("--run", type=_positive, metavar="ID", help="pipeline run id (default: the newest succeeded run)")
    p.add_argument("--state", choices=STATES, default="pending", help="offers in this state (default: pending)")
    p.add_argument("--limit", type=_positive, metavar="N", help="at most N offers, best score first (default: all)")
    p.add_argument("--tone", choices=TONES, default="friendly", help="tone of the pitches (default: friendly)")
    p.add_argument("--channel", choices=CHANNELS, default="email", help="channel (default: email)")
    p.add_argument("--config", metavar="FILE", help="TOML config (its [pitch] section: model, concurrency...)")
    p.add_argument("--quiet", action="store_true", help="no progress on stderr")
    p.set_defaults(handler=run)


def run(args) -> int:
    """Execute ``pitch``: pick the offers, draft and save them, print the summary on stdout."""
    from crm_core.pitch.service import draft_offers_batch
    from crm_core.views.pitches import run_offer_ids
    from crm_core.views.runs import get_run, latest_run
    from crm_core.views.workspaces import get_workspace

    config = config_from(args)
    db = open_database(args.db)
    actor = acting_user(db, args.user)
    workspace = get_workspace(db, args.workspace)
    run_info = get_run(db, args.run, workspace_id=workspace.id) if args.run else latest_run(db, workspace.id)
    if run_info is None:
        raise NotFound(f"Workspace {workspace.name!r} has no succeeded pipeline run: run the pipeline first "
                       "(python -m crm_core run, or the Run pipeline page).")
    offer_ids = run_offer_ids(db, run_info.id, state=args.state, limit=args.limit)
    if not offer_ids:
        print(f"Run #{run_info.id} of workspace {workspace.name!r} has no {args.state} offers: nothing to draft.")
        return 0
    say = (lambda message: None) if args.quiet else (lambda message: print(message, file=sys.stderr, flush=True))
    say(f"drafting {len(offer_ids):,} {args.channel} pitches for run #{run_info.id} ({args.state} offers)")
    stop = threading.Event()
    every = max(1, len(offer_ids) // 20)
    count = [0]

    def progress(fraction: float, message: str) -> None:
        count[0] += 1
        if count[0] % every == 0 or fraction >= 1:
            say(message)

    with _StopOnFirstInterrupt(stop, say):
        summary = draft_offers_batch(db, actor, offer_ids, tone=args.tone, channel=args.channel, config=config.pitch,
                                     progress=progress, stop_event=stop)
    print(f"Run #{run_info.id} of workspace {workspace.name!r}, {args.state} offers, {args.tone} {args.channel}:")
    for line in summary.lines():
        print(f"  {line}")
    return 0


class _StopOnFirstInterrupt:
    """While inside: the first SIGINT sets ``stop`` (the batch ends cleanly), the next one interrupts."""

    def __init__(self, stop: threading.Event, say):
        self.stop, self.say, self.previous = stop, say, None

    def _handle(self, signum, frame) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt
        self.stop.set()
        self.say("stopping: the drafts saved so far are kept (Ctrl-C again to interrupt at once)")

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be 1 or more")
    return value
