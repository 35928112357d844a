"""Settings of pitch drafting: the model, its limits, what may be sent, what it costs.

The default model is ``claude-sonnet-5-5`` (Claude Sonnet 5.5), Anthropic's
current Sonnet. Its list prices, $2 per million input tokens and $10 per
million output tokens, are taken from the model's page on
platform.claude.com; they are *estimates* for the batch preview, not a bill:
set ``price_per_mtok_input`` / ``price_per_mtok_output`` when you use another
model or your contract differs.

Time limits: the SDK waits up to ``timeout_seconds`` for each read and retries
``max_retries`` times (the SDK's own defaults, 600 s and 2 retries, would let
one draft hang for half an hour); ``deadline_seconds`` is a wall-clock cap on
one draft, retries included, after which the template is used.
"""

from __future__ import annotations

from dataclasses import dataclass

from crm_core.errors import ConfigError
from crm_core.settings_base import build_section

TONES = ("formal", "friendly", "concise", "enthusiastic")
CHANNELS = ("email", "sms", "call")
EFFORTS = ("", "low", "medium", "high")
SMS_MAX_CHARS = 160


@dataclass(frozen=True)
class PitchConfig:
    """How pitches are drafted.

    Attributes:
        enabled: draft with the AI service at all (False: templates only, no
            connection is opened; the environment ``NEXTBEST_LLM=off`` does the same).
        model: the Claude model id.
        effort: the ``output_config.effort`` sent with each request ("" sends
            none, for models or proxies that do not know it); a pitch is short,
            so little thinking is needed.
        timeout_seconds: the SDK's per-request timeout.
        max_retries: the SDK's retries after a timeout, 429 or 5xx.
        deadline_seconds: wall-clock limit of one draft, retries included.
        concurrency: drafts in flight at once in a batch. At 5, 1,000 drafts that
            take 1 s each finish in about 206 s (measured, bench/pitch_batch.py; the
            floor is 200 s); 4 took 255 s. Keep it small: the AI service rate-limits.
        max_tokens: the model's output limit per draft (thinking included).
        expected_output_tokens: output tokens one draft is expected to use (for
            the cost estimate; ``max_tokens`` gives the ceiling).
        include_first_name: send the customer's first name (off: no personal
            data at all leaves the machine).
        name_max_chars: names (customer, product, family, segment, persona) are cut to this length.
        reason_max_chars: each reason sentence is cut to this length.
        max_reasons: reasons sent per offer.
        price_per_mtok_input, price_per_mtok_output: USD per million tokens,
            for the estimate (defaults: Claude Sonnet 5.5 list prices).
    """

    enabled: bool = True
    model: str = "claude-sonnet-5-5"
    effort: str = "low"
    timeout_seconds: float = 15.0
    max_retries: int = 1
    deadline_seconds: float = 20.0
    concurrency: int = 5
    max_tokens: int = 1024
    expected_output_tokens: int = 250
    include_first_name: bool = False
    name_max_chars: int = 40
    reason_max_chars: int = 240
    max_reasons: int = 3
    price_per_mtok_input: float = 2.0
    price_per_mtok_output: float = 10.0

    @classmethod
    def from_dict(cls, d: dict | None) -> PitchConfig:
        """Build from the ``[pitch]`` section; unknown keys or bad values raise ConfigError."""
        return build_section(cls, "pitch", d)

    def check(self) -> None:
        """Raise ConfigError when a value is out of range."""
        for name in ("enabled", "include_first_name"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigError(f"[pitch] {name} must be true or false, not {getattr(self, name)!r}.")
        if not isinstance(self.model, str) or not self.model.strip():
            raise ConfigError('[pitch] model must be a Claude model id, e.g. "claude-sonnet-5-5".')
        if self.effort not in EFFORTS:
            raise ConfigError(f"[pitch] effort must be one of {list(EFFORTS)}, not {self.effort!r}.")
        for name in ("timeout_seconds", "deadline_seconds", "price_per_mtok_input", "price_per_mtok_output"):
            value = getattr(self, name)
            if not _number(value) or value < 0 or (value == 0 and "seconds" in name):
                raise ConfigError(f"[pitch] {name} must be a number above 0, not {value!r}.")
        for name, low in (("max_retries", 0), ("concurrency", 1), ("max_tokens", 16), ("expected_output_tokens", 1),
                          ("name_max_chars", 8), ("reason_max_chars", 20), ("max_reasons", 0)):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value < low:
                raise ConfigError(f"[pitch] {name} must be a whole number >= {low}, not {value!r}.")
        if self.concurrency > 32:
            raise ConfigError(f"[pitch] concurrency must be at most 32 (the AI service rate-limits), "
                              f"not {self.concurrency}.")
        if self.expected_output_tokens > self.max_tokens:
            raise ConfigError(f"[pitch] expected_output_tokens ({self.expected_output_tokens}) cannot exceed "
                              f"max_tokens ({self.max_tokens}).")


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)
