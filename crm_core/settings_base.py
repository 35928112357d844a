"""Building a settings section from its TOML table: one way for every area.

Each area (ingest, segment, recommend) keeps its own frozen dataclass and its
own range checks; this module turns a parsed TOML table into one, naming
unknown keys and wrong types instead of falling back to a default.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from typing import Any, TypeVar

from crm_core.errors import ConfigError

T = TypeVar("T")


def build_section(kind: type[T], section: str, values: Mapping[str, Any] | None, *,
                  code_lists: Iterable[str] = ()) -> T:
    """``kind(**values)`` for the ``[section]`` table, then its ``check()`` when it has one.

    Args:
        kind: the section's dataclass.
        section: its name as written in the TOML file (``ingest``, ``segment.rfm``).
        values: the parsed table (None or empty: the defaults).
        code_lists: keys holding lists of product codes; stored as trimmed upper-case tuples.
    Raises:
        ConfigError: an unknown key, a wrong type, or a value its ``check()`` refuses.
    """
    values = dict(values or {})
    known = {f.name for f in dataclasses.fields(kind)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"Unknown [{section}] setting(s) {sorted(unknown)}; known: {sorted(known)}.")
    for name in code_lists:
        if name in values:
            values[name] = product_codes(section, name, values[name])
    try:
        built = kind(**values)
    except TypeError as exc:
        raise ConfigError(f"[{section}] {exc}") from None
    check = getattr(built, "check", None)
    if callable(check):
        check()
    return built


def product_codes(section: str, name: str, codes: Any) -> tuple[str, ...]:
    """A TOML list of product codes as a tuple of trimmed, upper-cased codes."""
    if isinstance(codes, str) or not isinstance(codes, (list, tuple)) or not all(isinstance(c, str) for c in codes):
        raise ConfigError(f'[{section}] {name} must be a list of product codes, e.g. ["POST", "DOT", "M"].')
    return tuple(c.strip().upper() for c in codes)
