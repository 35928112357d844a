"""The settings as a document: every field with its meaning and default, written as TOML.

Works on the frozen settings dataclasses by looking at them (their fields, their
defaults and the ``Attributes:`` of their docstrings), without importing the
settings modules, so a setting added to any section shows on the Settings page
and in the exported file with no change here. ``tomllib`` reads what
:func:`to_toml` writes back to the same settings (tested by round trip).

TOML is written by hand because the values are simple: booleans, whole
numbers, floats (``repr`` always has a point, an exponent, ``inf`` or ``nan``,
all valid TOML), strings (escaped per the TOML spec, which JSON's escapes do
not match for U+007F and characters beyond the BMP), arrays and inline tables.
A ``None`` (``segment.cluster.k``: chosen by silhouette) has no TOML form and is
written as a comment, which reads back as the default.
"""

from __future__ import annotations

import copy
import dataclasses
import re
import textwrap
import tomllib
import types
import typing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm_core.errors import ConfigError

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ENTRY = re.compile(r"^([A-Za-z_]\w*(?:\s*[,/]\s*[A-Za-z_]\w*)*):\s*(.*)$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
WIDTH = 100


@dataclass(frozen=True)
class SettingField:
    """One setting: where it lives, its value now, its default and what it means.

    ``kind`` says how to edit it: ``bool``, ``int``, ``float``, ``text`` or ``value``
    (a list or table, edited as a TOML value); ``optional`` when it may be left unset (None).
    """

    section: str
    name: str
    value: Any
    default: Any
    help: str
    kind: str
    optional: bool = False

    @property
    def key(self) -> str:
        """``segment.cluster.k``: the dotted name errors and the form use."""
        return f"{self.section}.{self.name}"

    @property
    def changed(self) -> bool:
        """Whether the value differs from the default."""
        return _plain(self.value) != _plain(self.default)


@dataclass(frozen=True)
class SettingSection:
    """A TOML table of settings (``recommend``, ``segment.rfm``) with its description and fields."""

    name: str
    description: str
    fields: tuple[SettingField, ...]


def settings_sections(config: Any) -> list[SettingSection]:
    """Every table of ``config`` (a settings dataclass such as ``Config``), in the order the code declares them."""
    out: list[SettingSection] = []
    for f in dataclasses.fields(config):
        _walk(getattr(config, f.name), f.name, out)
    return out


def _walk(part: Any, name: str, out: list[SettingSection]) -> None:
    kind = type(part)
    hints = typing.get_type_hints(kind)
    helps = field_help(kind)
    defaults = kind()
    scalars, nested = [], []
    for f in dataclasses.fields(part):
        value = getattr(part, f.name)
        if dataclasses.is_dataclass(value):
            nested.append((f.name, value))
            continue
        default = getattr(defaults, f.name)
        optional = type(None) in typing.get_args(hints.get(f.name))
        scalars.append(SettingField(name, f.name, value, default, helps.get(f.name, ""),
                                    _kind(hints.get(f.name), default), optional))
    if scalars or not nested:
        out.append(SettingSection(name, _first_paragraph(kind.__doc__), tuple(scalars)))
    for child, value in nested:
        _walk(value, f"{name}.{child}", out)


def _kind(hint: Any, default: Any) -> str:
    """How a field is edited, from its type (``int | None`` is an optional int; lists and tables are values)."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        hint = next(t for t in typing.get_args(hint) if t is not type(None))
    base = typing.get_origin(hint) or hint
    for candidate, kind in ((bool, "bool"), (int, "int"), (float, "float"), (str, "text")):
        if base is candidate:
            return kind
    return "value"


def field_help(kind: type) -> dict[str, str]:
    """Field name -> meaning, from the ``Attributes:`` of the class docstring (``a, b: text`` documents both).

    A field the section does not list gets the sentences of the docstring that name it (the
    segment sections describe their fields in prose), else nothing.
    """
    doc = textwrap.dedent("\n".join((kind.__doc__ or "").splitlines()[1:]))
    found: dict[str, str] = {}
    lines = doc.splitlines()
    if "Attributes:" in lines:
        block = lines[lines.index("Attributes:") + 1:]
        indent = min((len(line) - len(line.lstrip()) for line in block if line.strip()), default=0)
        names: list[str] = []
        for line in block:
            if line.strip() and len(line) - len(line.lstrip()) < indent:
                break
            match = _ENTRY.match(line[indent:]) if not line[:indent].strip() else None
            if match and len(line) - len(line.lstrip()) == indent:
                names = re.split(r"\s*[,/]\s*", match.group(1))
                for name in names:
                    found[name] = match.group(2).strip()
            elif line.strip():
                for name in names:
                    found[name] = f"{found[name]} {line.strip()}".strip()
    prose = " ".join((kind.__doc__ or "").split())
    for f in dataclasses.fields(kind):
        if f.name not in found:
            mention = rf"(?<![\w.]){re.escape(f.name)}(?!\w)"
            said = [s for s in re.split(r"(?<=[.;])\s+", prose) if re.search(mention, s)]
            if said:
                found[f.name] = " ".join(said)
    return {name: _readable(text) for name, text in found.items()}


def _readable(text: str) -> str:
    """Docstring markup taken out: ``x`` and :mod:`x` read as x."""
    return re.sub(r":\w+:`([^`]*)`", r"\1", text).replace("``", "")


def _first_paragraph(doc: str | None) -> str:
    return " ".join((doc or "").strip().split("\n\n")[0].split())


# --------------------------------------------------------------------------- writing


def to_toml(config: Any, *, title: str | None = None) -> str:
    """``config`` as a TOML document: every table, every setting with its meaning and default as comments.

    ``tomllib.loads`` of the result, given to ``type(config).from_dict``, gives back ``config``.
    """
    lines = [f"# {line}" for line in (title or "").splitlines()]
    for section in settings_sections(config):
        lines += ["", f"[{section.name}]"] if lines else [f"[{section.name}]"]
        for field in section.fields:
            lines.append("")
            about = field.help or "(no description)"
            default = "not set" if field.default is None else toml_value(field.default)
            if len(default) > 60:
                default = "see the text"
            lines += [f"# {text}" for text in textwrap.wrap(f"{about} (default: {default})", WIDTH - 2)]
            if field.value is None:
                lines.append(f"# {_key(field.name)} is not set")
            else:
                lines.append(f"{_key(field.name)} = {toml_value(field.value, multiline=True)}")
    return "\n".join(lines) + "\n"


def toml_value(value: Any, *, multiline: bool = False) -> str:
    """One value in TOML syntax (a long array one element per line when ``multiline``).

    Raises:
        TypeError: a value TOML cannot hold (None, a date, an object).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, str):
        return '"' + "".join(_ESCAPES.get(c) or (f"\\u{ord(c):04X}" if ord(c) < 0x20 or ord(c) == 0x7F else c)
                             for c in value) + '"'
    if isinstance(value, (set, frozenset)):
        value = sorted(value)
    if isinstance(value, (list, tuple)):
        items = [toml_value(v) for v in value]
        flat = "[" + ", ".join(items) + "]"
        if multiline and len(flat) > WIDTH - 20:
            return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
        return flat
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_key(str(k))} = {toml_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"{value!r} ({type(value).__name__}) has no TOML form")


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else toml_value(name)


# --------------------------------------------------------------------------- reading and checking


def read_toml(text: str, *, source: str = "the file") -> dict:
    """The tables of a TOML document; ConfigError naming the line and column when it is not TOML."""
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{source} is not valid TOML: {exc}.") from None


def read_toml_file(path: str | Path, *, kind: str = "Config file") -> dict:
    """The tables of the TOML file at ``path``; ConfigError naming the ``kind`` of file and what is wrong."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{kind} {path} does not exist.") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{kind} {path} cannot be read: {getattr(exc, 'strerror', None) or exc}.") from None
    return read_toml(text, source=f"{kind} {path}")


def parse_value(text: str, key: str) -> Any:
    """A value typed as TOML (``[0.5, 1, 2, 4]``, ``{WARN = 15}``); ConfigError naming ``key`` otherwise."""
    try:
        return tomllib.loads(f"v = {text.strip()}\n")["v"]
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{key} is not a TOML value ({exc}); write it as in the settings file, "
                          'e.g. [0.5, 1.0, 2.0, 4.0] or {WARN = 15}.') from None


def nested(values: dict[str, Any]) -> dict:
    """``{"segment.cluster.k": 5}`` as ``{"segment": {"cluster": {"k": 5}}}``; None values are left out (default)."""
    out: dict = {}
    for key, value in values.items():
        if value is None:
            continue
        *path, name = key.split(".")
        target = out
        for part in path:
            target = target.setdefault(part, {})
        target[name] = value
    return out


def field_errors(config: Any, values: dict[str, Any]) -> dict[str, str]:
    """Why the edited ``values`` (dotted key -> value) do not make valid settings, per field.

    Each changed field is tried alone on top of ``config``: its error is the field's. When every
    field passes alone but not together (a rule across fields, e.g. k_min <= k_max), the error is
    put on the section the fields share (its name as the key), or on ``""`` (the whole form).

    Returns:
        ``{}`` when the values make valid settings.
    """
    kind, current = type(config), config.to_dict()
    flat = {f.key: f.value for section in settings_sections(config) for f in section.fields}
    changed = {k: v for k, v in values.items() if _plain(v) != _plain(flat.get(k))}
    errors: dict[str, str] = {}
    for key, value in changed.items():
        try:
            kind.from_dict(_with(current, {key: value}))
        except ConfigError as exc:
            errors[key] = str(exc)
    if errors or not changed:
        return errors
    try:
        kind.from_dict(_with(current, changed))
    except ConfigError as exc:
        sections = {k.rsplit(".", 1)[0] for k in changed}
        return {sections.pop() if len(sections) == 1 else "": str(exc)}
    return {}


def _with(base: dict, changes: dict[str, Any]) -> dict:
    out = copy.deepcopy(base)
    for key, value in changes.items():
        *path, name = key.split(".")
        target = out
        for part in path:
            target = target.setdefault(part, {})
        if value is None:
            target.pop(name, None)
        else:
            target[name] = value
    return out


def _plain(value: Any) -> Any:
    """Tuples as lists, sets sorted: values compared the way TOML and JSON give them back."""
    if isinstance(value, (set, frozenset)):
        return [_plain(v) for v in sorted(value)]
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value
