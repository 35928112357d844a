"""Gating policies: how flags and the audit score become PASS, REVIEW or BLOCK.

A policy decides, for each offer, in this order:

1. any flag of severity ERROR (after the policy's ``escalate`` list turned
   some codes into ERRORs) -> BLOCK. No policy can switch this off: there is
   no setting for it, and unknown settings are refused;
2. audit score below ``block_below`` -> BLOCK;
3. audit score below ``review_below``, or a flag listed in ``review_on`` (a
   code, or a severity such as ``WARN``) -> REVIEW;
4. otherwise PASS.

Built-ins (version 1), with the default weights (ERROR 100, WARN 15, INFO 2):

- ``standard``: REVIEW below 80 (two warnings: 70), BLOCK below 30 (five
  warnings); a failed pitch check always goes to review.
- ``strict``: REVIEW below 90 and on any warning, BLOCK below 60; unknown
  consent is an ERROR.
- ``permissive``: REVIEW below 60 (three warnings), never BLOCKed by the score
  alone (ERRORs still block).

Custom policies are plain tables (TOML or a dict from the admin page) checked
by :func:`policy_from_dict`; storing and versioning them is the caller's job.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Mapping

from crm_core.errors import ConfigError
from crm_core.gate.flags import FLAGS, SEVERITIES, Severity

_NAME = re.compile(r"^[a-z][a-z0-9_-]{0,39}$")
_KEYS = ("name", "version", "description", "review_below", "block_below", "review_on", "escalate")


@dataclass(frozen=True)
class Policy:
    """A named, versioned gating policy (see the module docstring for how it decides).

    Attributes:
        name: lower-case identifier (``standard``, ``no-weekend-promos``).
        version: starts at 1; whoever stores policies bumps it on every change.
        review_below: audit scores below this go to REVIEW.
        block_below: audit scores below this are BLOCKed (<= review_below).
        review_on: flag codes or severities (``WARN``, ``INFO``) that send an offer to REVIEW.
        escalate: flag codes treated as ERROR under this policy (so they BLOCK).
        description: one line for the admin page.
    """

    name: str
    version: int = 1
    review_below: float = 80
    block_below: float = 30
    review_on: tuple[str, ...] = ()
    escalate: tuple[str, ...] = ()
    description: str = ""

    def severity_of(self, code: str) -> Severity:
        """The severity of ``code`` under this policy (escalated codes are ERRORs)."""
        return Severity.ERROR if code in self.escalate else FLAGS[code].severity

    def to_dict(self) -> dict:
        """JSON-safe table of the policy, read back by :func:`policy_from_dict`."""
        return {"name": self.name, "version": self.version, "description": self.description,
                "review_below": self.review_below, "block_below": self.block_below,
                "review_on": list(self.review_on), "escalate": list(self.escalate)}


STANDARD = Policy("standard", 1, review_below=80, block_below=30, review_on=("PITCH_CHECK_FAILED",),
                  description="Review below 80 or a failed pitch check; block below 30 or on any error.")
STRICT = Policy("strict", 1, review_below=90, block_below=60, review_on=("WARN",), escalate=("CONSENT_UNKNOWN",),
                description="Review on any warning or below 90; block below 60, on unknown consent or any error.")
PERMISSIVE = Policy("permissive", 1, review_below=60, block_below=0,
                    description="Review below 60; block only on errors.")
BUILTIN_POLICIES: dict[str, Policy] = {p.name: p for p in (STRICT, STANDARD, PERMISSIVE)}


def builtin_policy(name: str) -> Policy:
    """The built-in policy called ``name`` (strict, standard, permissive).

    Raises:
        ConfigError: no built-in policy has that name.
    """
    try:
        return BUILTIN_POLICIES[str(name).strip().lower()]
    except KeyError:
        raise ConfigError(f"Unknown gating policy {name!r}; built-in policies: {sorted(BUILTIN_POLICIES)}.") from None


def policy_from_dict(d: Mapping[str, Any], *, name: str | None = None, allow_builtin_name: bool = False,
                     section: str | None = None) -> Policy:
    """Check a policy table and build the Policy.

    Args:
        d: the table: ``review_below``, ``block_below`` (numbers 0..100),
            optional ``name``, ``version`` (whole number >= 1, default 1),
            ``review_on`` (codes or severities), ``escalate`` (codes),
            ``description``.
        name: the policy's name when the table does not hold it (e.g. the key
            of ``[gate.policies.<name>]``); must agree when both are given.
        allow_builtin_name: accept ``strict``/``standard``/``permissive`` (only
            to read back a built-in's ``to_dict``; a custom policy must not
            shadow a built-in).
        section: how messages name the table (default ``gate.policies.<name>``).
    Returns:
        The policy, with codes upper-cased, de-duplicated and sorted.
    Raises:
        ConfigError: naming the key that is unknown, missing or wrong and what is expected.
    """
    if not isinstance(d, Mapping):
        raise ConfigError(f"A gating policy must be a table of settings, not {type(d).__name__}.")
    given = d.get("name", name)
    where = section or f"gate.policies.{given}"
    unknown = set(d) - set(_KEYS)
    if unknown:
        raise ConfigError(f"Unknown [{where}] setting(s) {sorted(unknown)}; known: {sorted(_KEYS)}. "
                          "(Errors always block: no policy setting can change that.)")
    if name is not None and "name" in d and d["name"] != name:
        raise ConfigError(f"[{where}] name {d['name']!r} differs from the table's name {name!r}.")
    if not isinstance(given, str) or not _NAME.match(given):
        raise ConfigError(f"[{where}] name must be lower-case letters, digits, '-' or '_' (1-40, starting with "
                          f"a letter), not {given!r}.")
    if given in BUILTIN_POLICIES and not allow_builtin_name:
        raise ConfigError(f"[{where}] name {given!r} is a built-in policy; choose another name.")
    for key in ("review_below", "block_below"):
        if key not in d:
            raise ConfigError(f"[{where}] {key} is missing: give an audit score from 0 to 100.")
        value = d[key]
        if not isinstance(value, (int, float)) or isinstance(value, bool) or not 0 <= value <= 100:
            raise ConfigError(f"[{where}] {key} must be an audit score from 0 to 100, not {value!r}.")
    if d["block_below"] > d["review_below"]:
        raise ConfigError(f"[{where}] block_below ({d['block_below']}) must not be above review_below "
                          f"({d['review_below']}).")
    version = d.get("version", 1)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ConfigError(f"[{where}] version must be a whole number >= 1, not {version!r}.")
    description = d.get("description", "")
    if not isinstance(description, str):
        raise ConfigError(f"[{where}] description must be text, not {description!r}.")
    return Policy(given, version, d["review_below"], d["block_below"],
                  _codes(where, "review_on", d.get("review_on", ()), severities=True),
                  _codes(where, "escalate", d.get("escalate", ()), severities=False), description)


def _codes(where: str, key: str, values: Any, *, severities: bool) -> tuple[str, ...]:
    """A list of flag codes (and severities when allowed) as a sorted tuple of distinct upper-case codes."""
    if isinstance(values, str) or not isinstance(values, (list, tuple)) or not all(isinstance(v, str) for v in values):
        raise ConfigError(f'[{where}] {key} must be a list of flag codes, e.g. ["LOW_SCORE", "THIN_DATA"].')
    codes = sorted({v.strip().upper() for v in values})
    allowed = set(FLAGS) | (set(SEVERITIES) if severities else set())
    bad = [c for c in codes if c not in allowed]
    if bad:
        extra = f" or severities {list(SEVERITIES)}" if severities else ""
        raise ConfigError(f"[{where}] {key} has unknown flag code(s) {bad}; known codes: {sorted(FLAGS)}{extra}.")
    return tuple(codes)
