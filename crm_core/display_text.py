"""Showing text that came from a file (names, ids, products, workspaces) as exactly that text.

Streamlit renders headers, captions, messages and metric labels as Markdown:
a customer called ``[click](https://evil.example)`` would become a link,
``:red[x]`` would colour the page, ``$$x$$`` would typeset maths, ``# Boss``
would become a heading, ``--`` a dash, and a 100,000-character name would
fill the screen. :func:`shown` turns any value into Markdown that displays
its characters literally: control characters and line breaks become spaces,
long text is cut with an ellipsis, and every ASCII punctuation character is
backslash-escaped (CommonMark shows an escaped character as itself and never
starts a link, emphasis, maths, directive, autolink or heading with it). The
stored value is never changed; only what is drawn.
"""

from __future__ import annotations

import re

DEFAULT_MAX_CHARS = 120
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]+")
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character


def one_line(value, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """``value`` as one line of at most ``max_chars`` characters (control characters as spaces, … when cut)."""
    text = "" if value is None else str(value)
    text = _SPACES.sub(" ", _INVISIBLE.sub(" ", text)).strip()
    if len(text) > max_chars:
        text = text[:max(max_chars - 1, 0)].rstrip() + "…"
    return text


def shown(value, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Markdown that displays ``value`` literally, on one line, cut at ``max_chars`` characters."""
    return _PUNCTUATION.sub(r"\\\1", one_line(value, max_chars))
