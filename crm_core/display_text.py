"""Showing text that came from a file (names, ids, products, workspaces) as exactly that text.

Streamlit renders headers, captions, messages and metric labels as Markdown:
a customer called ``[click](https://evil.example)`` would become a link,
``:red[x]`` would colour the page, ``$$x$$`` would typeset maths, ``# Boss``
would become a heading, ``--`` a dash, and a 100,000-character name would
fill the screen. :func:`shown` turns any value into Markdown that displays
its characters literally: control characters and line breaks become spaces,
long text is cut with an ellipsis, and every ASCII punctuation character is
backslash-escaped (CommonMark shows an escaped character as itself and never
starts a link, emphasis, maths, directive or heading with it). Streamlit also
turns bare addresses into links after escapes are read (``https://...``,
``www.``, ``name@host``) and dashes and dots into typography (``--`` into an
em dash, so the id ``' OR 1=1 --`` read wrongly), so a zero-width space is put
inside each of those (``:/\u200b/``, ``www\u200b.``, ``@\u200b``, ``-\u200b-``,
``.\u200b.``): the text reads and copies the same, but is never a link and
never changes its characters. The stored value is never changed; only what is
drawn.
"""

from __future__ import annotations

import re

DEFAULT_MAX_CHARS = 120
_INVISIBLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u00ad\u200b-\u200f\u2028\u2029\u202a-\u202e\u2060-\u2069\ufeff]+")
_SPACES = re.compile(r"\s+")
_PUNCTUATION = re.compile(r"([!-/:-@\[-`{-~])")  # every ASCII punctuation character
_BREAK = "\u200b"  # zero-width space
# Between two characters where a linkifier or the typography would start: -|-, .|., :/|/, www|., @|x
_BREAK_AT = re.compile(r"(?<=-)(?=-)|(?<=\.)(?=\.)|(?<=:/)(?=/)|(?<=[Ww][Ww][Ww])(?=\.)|(?<=@)(?=\S)")


def one_line(value, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """``value`` as one line of at most ``max_chars`` characters (control characters as spaces, … when cut)."""
    text = "" if value is None else str(value)
    text = _SPACES.sub(" ", _INVISIBLE.sub(" ", text)).strip()
    if len(text) > max_chars:
        text = text[:max(max_chars - 1, 0)].rstrip() + "…"
    return text


def shown(value, max_chars: int = DEFAULT_MAX_CHARS) -> str:
    """Markdown that displays ``value`` literally, on one line, cut at ``max_chars`` characters."""
    text = _BREAK_AT.sub(_BREAK, one_line(value, max_chars))
    return _PUNCTUATION.sub(r"\\\1", text)
