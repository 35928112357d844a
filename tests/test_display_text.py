"""Text from a file is shown as its characters: no Markdown, no links, no typography, one capped line."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crm_core.display_text import one_line, shown

ZWSP = "\u200b"


def _unescaped(markdown: str) -> str:
    """What CommonMark shows for backslash escapes (every escaped ASCII punctuation character is itself)."""
    out, i = [], 0
    while i < len(markdown):
        if markdown[i] == "\\" and i + 1 < len(markdown):
            out.append(markdown[i + 1])
            i += 2
        else:
            out.append(markdown[i])
            i += 1
    return "".join(out).replace(ZWSP, "")


@pytest.mark.parametrize("text", ["[click](https://evil.example)", ":red[x]", "$$x$$", "# Boss", "' OR 1=1 --",
                                  "**bold** _it_ `code`", "<script>alert(1)</script>", "=HYPERLINK(\"x\")",
                                  "www.evil.example", "mail@evil.example", "a...b", "![img](x.png)"])
def test_markup_reads_back_as_the_same_characters(text):
    out = shown(text)
    assert _unescaped(out) == text
    assert "](" not in out and "://" not in out and "--" not in out.replace("\\", "")


def test_control_characters_and_line_breaks_become_spaces_and_long_text_is_cut():
    assert one_line("a\nb\r\n\tc\x00d") == "a b c d"
    assert shown("x" * 100_000, 50) == "x" * 49 + "…"
    assert shown(None) == "" and shown(12.5) == "12\\.5"


@given(st.text(max_size=200))
def test_any_text_is_one_line_and_reads_back(text):
    out = shown(text, 10_000)
    assert "\n" not in out and "\r" not in out
    assert _unescaped(out) == one_line(text, 10_000)
