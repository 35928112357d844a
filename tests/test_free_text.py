"""Typed text (reasons, notes, names): trimmed, bounded, required where the record needs it."""

from __future__ import annotations

import pytest

from crm_core.errors import ValidationError
from crm_core.free_text import checked_text


def test_a_name_is_one_line_and_a_reason_keeps_its_lines():
    assert checked_text("  Spring \n  winback\t", label="A name", max_chars=50) == "Spring winback"
    assert checked_text("  first\nsecond  ", label="A reason", max_chars=50, one_line=False) == "first\nsecond"


def test_blank_is_none_unless_the_text_is_required():
    assert checked_text(" \n\t", label="A reason", max_chars=10) is None
    assert checked_text(None, label="A reason", max_chars=10) is None
    with pytest.raises(ValidationError, match="^Say why$"):
        checked_text("   ", label="A reason", max_chars=10, missing="Say why")


def test_too_long_is_refused_never_cut():
    assert checked_text("x" * 10, label="A note", max_chars=10) == "x" * 10
    with pytest.raises(ValidationError, match="A note has at most 10 characters; this one has 11"):
        checked_text("x" * 11, label="A note", max_chars=10)
