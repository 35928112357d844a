"""``audit verify``: check the hash chain of the audit log.

``python -m crm_core audit verify [--db URL] [--expect-head HASH]``

Exit codes are the contract an auditor's script relies on:

- 0: every event matches its hash; prints the number of events and the head
  hash (keep it: a later ``--expect-head`` catches events removed since). With
  ``--expect-head`` of an older event, also 0, saying how many events came after.
- 1: an event does not match (the first bad event's id is named), or the
  ``--expect-head`` hash is neither the head nor any event's: the log was
  truncated or rewritten.
- 2: the check could not run (no database, the key file missing), as for every command.
"""

from __future__ import annotations

from crm_core.views.audit_chain import HEAD, MISSING, OLDER, ChainReport, verify_audit_chain

INTACT, BROKEN = 0, 1


def add_parser(sub) -> None:
    """Register the ``audit`` command (and its ``verify`` action) on the CLI's subparsers."""
    p = sub.add_parser("audit", help="check the audit log's hash chain",
                       description="Commands about the append-only, hash-chained audit log.")
    actions = p.add_subparsers(dest="audit_action", metavar="ACTION", required=True)
    verify = actions.add_parser(
        "verify", help="recompute every hash; exit 0 when intact, 1 naming the first bad event",
        description="Recompute the hash of every audit event (keyed with the audit key file, "
                    "NEXTBEST_AUDIT_KEY_FILE or data/secrets/audit_key) and check each links to the one before. "
                    "Exit 0 when intact (prints the event count and the head hash to keep), 1 when an event does "
                    "not match or the --expect-head hash is no longer in the log, 2 when the check cannot run.")
    verify.add_argument("--db", metavar="URL", help="SQLAlchemy database URL (default: NEXTBEST_DATABASE_URL or "
                                                     "data/nextbest.db)")
    verify.add_argument("--expect-head", metavar="HASH",
                        help="a head hash printed by an earlier check: say whether events were removed since")
    verify.set_defaults(handler=run_verify)


def run_verify(args) -> int:
    """Execute ``audit verify``; returns 0 (intact) or 1 (broken, truncated or rewritten)."""
    from crm_core.cli.common import open_database

    report = verify_audit_chain(open_database(args.db, upgrade=False), expect_head=args.expect_head)
    for line in report_lines(report):
        print(line)
    return INTACT if report.ok else BROKEN


def report_lines(report: ChainReport) -> list[str]:
    """What the command prints for ``report``, one line each."""
    if report.intact:
        lines = [f"Audit log intact: {report.events:,} events.", f"Head hash: {report.head}"]
    else:
        others = f" ({len(report.bad):,} events do not match)" if len(report.bad) > 1 else ""
        lines = [f"Audit log BROKEN: event #{report.first_bad} does not match its hash or the event before it"
                 f"{others}; it or an earlier row was edited, deleted or inserted.",
                 f"{report.events:,} events, head hash: {report.head}"]
    if report.expected_at == HEAD:
        lines.append("The expected head is the current head: no event was added or removed since.")
    elif report.expected_at == OLDER:
        where = f"event #{report.expected_event}'s hash" if report.expected_event else "the empty log's hash"
        lines.append(f"The expected head is {where}; {report.events_after:,} events came after it.")
    elif report.expected_at == MISSING:
        lines.append(f"The expected head {report.expected_head} is neither the head nor any event's hash: the log "
                     "was truncated or rewritten since it was taken.")
    return lines
