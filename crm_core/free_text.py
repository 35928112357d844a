"""Text people type (a reason, a note, a name): trimmed, bounded, and required where the record needs it."""

from __future__ import annotations

from crm_core.errors import ValidationError

MAX_REASON_CHARS = 2_000


def checked_text(value, *, label: str, max_chars: int, missing: str | None = None,
                 one_line: bool = True) -> str | None:
    """``value`` trimmed, with every run of whitespace as one space when ``one_line``.

    Args:
        value: what was typed (None, or anything ``str`` can show).
        label: what it is, for the message (``"A reason"``, ``"A campaign name"``).
        max_chars: the most characters kept; longer text is refused, never cut.
        missing: the message when the text is blank; None when blank is allowed (then None is returned).
        one_line: collapse line breaks and runs of spaces (names, notes); False keeps the lines (a reason).
    Raises:
        ValidationError: blank when ``missing`` is given, or longer than ``max_chars``.
    """
    text = "" if value is None else str(value)
    text = " ".join(text.split()) if one_line else text.strip()
    if not text:
        if missing is not None:
            raise ValidationError(missing)
        return None
    if len(text) > max_chars:
        raise ValidationError(f"{label} has at most {max_chars:,} characters; this one has {len(text):,}.")
    return text
