"""``python -m crm_core pitch``: drafts and saves the run's offers, and says where the drafts came from."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from crm_core.cli import main
from crm_core.store.models import AuditEvent, Pitch
from tests.pitch.conftest import KEY



def _pitches(db) -> list[tuple[int, str, str]]:
    with db.read() as s:
        return s.execute(select(Pitch.offer_id, Pitch.source, Pitch.created_by).order_by(Pitch.offer_id)).all()


def _pitch(db, *args) -> int:
    return main(["pitch", "--db", db.url, "--workspace", "shop", "--quiet", *args])


def test_with_a_key_the_model_drafts_and_the_cli_counts_it(run_db, stub, monkeypatch, capsys):
    server = stub("answer")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    assert _pitch(run_db, "--limit", "5") == 0
    out = capsys.readouterr().out
    assert "Run #1 of workspace 'shop', pending offers, friendly email:" in out
    assert "5 of 5 pitches drafted and saved: 5 by the model (claude-sonnet-5-5), 0 from templates." in out
    assert server.requests == 5 and "Tone: friendly" in server.bodies[0]["system"]
    saved = _pitches(run_db)
    assert len(saved) == 5 and {(source, by) for _, source, by in saved} == {("llm", "cli")}
    with run_db.read() as s:
        actors = set(s.scalars(select(AuditEvent.actor).where(AuditEvent.action == "pitch.saved")))
    assert actors == {"cli"} and KEY not in out


def test_switched_off_every_draft_is_a_template_and_no_connection_is_made(run_db, stub, monkeypatch, capsys):
    server = stub("answer")
    monkeypatch.setenv("ANTHROPIC_API_KEY", KEY)
    monkeypatch.setenv("NEXTBEST_LLM", "off")
    assert _pitch(run_db, "--limit", "12", "--tone", "concise", "--channel", "sms") == 0
    out = capsys.readouterr().out
    assert "12 of 12 pitches drafted and saved: 0 by the model, 12 from templates." in out
    assert "templates, AI drafting is switched off (NEXTBEST_LLM=off): 12" in out
    assert server.connections == 0 and len(_pitches(run_db)) == 12


def test_without_a_key_the_reason_is_printed(run_db, capsys):
    assert _pitch(run_db, "--limit", "3") == 0
    assert "templates, no API key configured: 3" in capsys.readouterr().out


def test_state_picks_the_offers(run_db, capsys):
    assert _pitch(run_db, "--state", "approved") == 0
    assert "has no approved offers: nothing to draft" in capsys.readouterr().out
    with run_db.engine.begin() as c:
        c.execute(text("UPDATE offers SET state = 'approved' WHERE id IN (3, 4)"))
    assert _pitch(run_db, "--state", "approved") == 0
    assert [offer for offer, _, _ in _pitches(run_db)] == [3, 4]


@pytest.mark.parametrize("args, message", [
    (["--run", "99"], "no pipeline run #99"),
    (["--user", "nobody"], "No active user 'nobody'"),
    (["--workspace", "bank"], "has no succeeded pipeline run"),
])
def test_mistakes_are_one_line_errors(run_db, capsys, args, message):
    assert main(["pitch", "--db", run_db.url, "--workspace", "shop", *args]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1
    assert _pitches(run_db) == []
