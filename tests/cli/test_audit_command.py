"""``python -m crm_core audit verify``: exit 0 on an intact chain, 1 naming the first bad event or a lost head."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from crm_core.cli import main
from crm_core.store.audit_log import GENESIS, record_event
from crm_core.store.models import AuditEvent


def _append(db, n: int, start: int = 0) -> list[tuple[int, str]]:
    """Append ``n`` events; returns their (id, hash)."""
    with db.unit_of_work() as s:
        for i in range(start, start + n):
            record_event(s, actor="ada", role="admin", action="policy.save", entity="policy", entity_id=f"p{i}",
                         after={"version": i}, workspace_id=None)
    with db.read() as s:
        return [tuple(r) for r in s.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id))]


def _verify(db, capsys, *extra: str) -> tuple[int, str]:
    code = main(["audit", "verify", "--db", db.url, *extra])
    return code, capsys.readouterr().out


def _without_triggers(db) -> None:
    """What someone holding the file can do: drop the append-only triggers."""
    with db.unit_of_work() as s:
        s.execute(text("DROP TRIGGER audit_events_no_update"))
        s.execute(text("DROP TRIGGER audit_events_no_delete"))


def test_an_intact_chain_exits_0_with_the_count_and_the_head_hash(db, capsys):
    events = _append(db, 5)
    code, out = _verify(db, capsys)
    assert code == 0
    assert "Audit log intact: 5 events." in out
    assert re.search(r"Head hash: ([0-9a-f]{64})", out).group(1) == events[-1][1]


def test_an_empty_log_is_intact_with_the_genesis_head(db, capsys):
    code, out = _verify(db, capsys)
    assert (code, f"Head hash: {GENESIS}" in out, "0 events" in out) == (0, True, True)


def test_a_tampered_row_exits_1_naming_its_id(db, capsys):
    events = _append(db, 6)
    _without_triggers(db)
    with db.unit_of_work() as s:
        s.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE id = :id"), {"id": events[3][0]})
    code, out = _verify(db, capsys)
    assert code == 1
    assert f"Audit log BROKEN: event #{events[3][0]} does not match" in out


def test_a_deleted_row_in_the_middle_names_the_event_after_it(db, capsys):
    events = _append(db, 4)
    _without_triggers(db)
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": events[1][0]})
    code, out = _verify(db, capsys)
    assert code == 1 and f"event #{events[2][0]} does not match" in out


def test_an_older_expected_head_exits_0_and_says_how_many_events_came_after(db, capsys):
    first = _append(db, 3)
    kept = first[-1][1]
    _append(db, 4, start=3)
    code, out = _verify(db, capsys, "--expect-head", kept)
    assert code == 0
    assert f"The expected head is event #{first[-1][0]}'s hash; 4 events came after it." in out


def test_the_current_head_as_expected_head_says_nothing_changed(db, capsys):
    events = _append(db, 2)
    code, out = _verify(db, capsys, "--expect-head", events[-1][1].upper())
    assert code == 0 and "no event was added or removed since" in out


def test_a_hash_not_in_the_chain_exits_1_truncated_or_rewritten(db, capsys):
    _append(db, 3)
    code, out = _verify(db, capsys, "--expect-head", "ab" * 32)
    assert code == 1
    assert "neither the head nor any event's hash: the log was truncated or rewritten" in out
    assert "Audit log intact: 3 events." in out  # the remaining events are consistent: only the head tells


def test_removing_the_newest_events_is_caught_by_the_kept_head(db, capsys):
    events = _append(db, 5)
    kept = events[-1][1]
    _without_triggers(db)
    with db.unit_of_work() as s:
        s.execute(text("DELETE FROM audit_events WHERE id >= :id"), {"id": events[3][0]})
    assert _verify(db, capsys)[0] == 0  # a shorter chain is still a consistent one ...
    code, out = _verify(db, capsys, "--expect-head", kept)
    assert code == 1 and "truncated or rewritten" in out  # ... which the kept head shows


def test_a_missing_key_file_is_an_error_not_a_broken_chain(db, capsys, monkeypatch, tmp_path):
    _append(db, 1)
    monkeypatch.setenv("NEXTBEST_AUDIT_KEY_FILE", str(tmp_path / "nowhere" / "audit_key"))
    code = main(["audit", "verify", "--db", db.url])
    captured = capsys.readouterr()
    assert code == 2 and "key" in captured.err and "is missing" in captured.err
    assert not (tmp_path / "nowhere" / "audit_key").exists()  # no new key was made up


@pytest.mark.postgres
def test_verify_on_postgresql_names_the_tampered_event(pg_db, capsys):
    events = _append(pg_db, 3)
    assert _verify(pg_db, capsys)[0] == 0
    with pg_db.unit_of_work() as s:
        s.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
        s.execute(text("UPDATE audit_events SET reason = 'rewritten' WHERE id = :id"), {"id": events[0][0]})
    code, out = _verify(pg_db, capsys)
    assert code == 1 and f"event #{events[0][0]} does not match" in out


def test_verify_never_writes_to_the_database_it_checks(tmp_path):
    """An auditor's copy at an older schema revision is refused, not upgraded."""
    import subprocess
    import sys

    from crm_core.store import Database
    from crm_core.store.migrate import current_revision, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    db = Database.open(url)
    upgrade(db, "0005")
    p = subprocess.run([sys.executable, "-m", "crm_core", "audit", "verify", "--db", url], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2 and "schema revision 0005" in p.stderr
    assert current_revision(db) == "0005"  # not upgraded
    from sqlalchemy import inspect

    assert "config_versions" not in inspect(db.engine).get_table_names()
