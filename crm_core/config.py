"""The whole configuration: one frozen dataclass per area, composed here.

Loaded once (from a TOML file or defaults) and passed down explicitly; no
module reads global settings. Sections: ``[ingest]``, ``[segment]``,
``[recommend]``, ``[gate]``, ``[pitch]``, ``[pipeline]``, ``[operations]``. Unknown sections or keys are rejected
with a message that names them, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from crm_core.config_toml import read_toml_file
from crm_core.errors import ConfigError
from crm_core.gate.settings import GateConfig
from crm_core.ingest.settings import IngestConfig
from crm_core.pitch.settings import PitchConfig
from crm_core.recommend.settings import RecommendConfig
from crm_core.segment.settings import SegmentConfig
from crm_core.settings_base import build_section


@dataclass(frozen=True)
class PipelineConfig:
    """Settings of a run as a whole (``[pipeline]``).

    Attributes:
        as_of_margin_days: how far after the last sale an as-of date may lie (an as-of date
            before the first sale is always refused: there would be no customer).
    """

    as_of_margin_days: int = 365

    @classmethod
    def from_dict(cls, d: dict) -> "PipelineConfig":
        """Build from the ``[pipeline]`` section; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "pipeline", d)

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        value = self.as_of_margin_days
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ConfigError(f"[pipeline] as_of_margin_days must be a whole number of days >= 0, not {value!r}.")


@dataclass(frozen=True)
class OperationsConfig:
    """Running the installation day to day (``[operations]``); no effect on what a run computes.

    Attributes:
        backup_keep: how many daily automatic backups are kept; older ones are deleted.
        backup_folder: where backups are written (a relative path is taken from the project folder;
            for a SQLite file kept outside it, from the database file's folder). Backups hold
            customer data: the folder is private to the user running NextBest and never goes into git.
    """

    backup_keep: int = 7
    backup_folder: str = "data/backups"

    @classmethod
    def from_dict(cls, d: dict) -> "OperationsConfig":
        """Build from the ``[operations]`` section; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "operations", d)

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        keep = self.backup_keep
        if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= 365:
            raise ConfigError("[operations] backup_keep must be a whole number of backups from 1 to 365, "
                              f"not {keep!r}.")
        folder = self.backup_folder
        if not isinstance(folder, str) or not folder.strip() or "\x00" in folder:
            raise ConfigError(f'[operations] backup_folder must be a folder path, e.g. "data/backups", not {folder!r}.')


_SECTIONS = {"ingest": IngestConfig, "segment": SegmentConfig, "recommend": RecommendConfig,
             "gate": GateConfig, "pitch": PitchConfig, "pipeline": PipelineConfig, "operations": OperationsConfig}
_NOT_HASHED = ("operations",)  # where backups go does not change what a run computes


@dataclass(frozen=True)
class Config:
    """Every setting of a pipeline run and of the importer."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    segment: SegmentConfig = field(default_factory=SegmentConfig)
    recommend: RecommendConfig = field(default_factory=RecommendConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    pitch: PitchConfig = field(default_factory=PitchConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    operations: OperationsConfig = field(default_factory=OperationsConfig)

    @classmethod
    def from_dict(cls, data: dict) -> "Config":
        """Build from a nested dict (the parsed TOML); unknown sections raise ConfigError."""
        unknown = set(data) - set(_SECTIONS)
        if unknown:
            raise ConfigError(f"Unknown config section(s) {sorted(unknown)}; "
                              f"known: {sorted(_SECTIONS)}.")
        return cls(**{name: kind.from_dict(data.get(name) or {}) for name, kind in _SECTIONS.items()})

    def to_dict(self) -> dict:
        """Plain nested dict (JSON-safe) of every setting, defaults included."""
        return json.loads(json.dumps(dataclasses.asdict(self), default=_jsonable, sort_keys=True))

    @property
    def hash(self) -> str:
        """SHA-256 of the canonical JSON of every setting a run uses (``[operations]`` is left out): equal
        configs, equal hashes."""
        settings = {name: section for name, section in self.to_dict().items() if name not in _NOT_HASHED}
        blob = json.dumps(settings, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(blob.encode()).hexdigest()


def _jsonable(value):
    if isinstance(value, (set, frozenset)):
        return sorted(value)
    if isinstance(value, tuple):
        return list(value)
    return str(value)


def load_config(path: str | Path | None = None) -> Config:
    """Config from a TOML file, or the defaults when ``path`` is None."""
    if path is None:
        return Config()
    p = Path(path)
    data = read_toml_file(p, kind="Config file")
    try:
        return Config.from_dict(data)
    except ConfigError as exc:
        raise ConfigError(f"{p}: {exc}") from None
