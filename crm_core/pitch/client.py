"""The one door to the AI service: the Anthropic Messages API, under a hard deadline.

The only module that imports ``anthropic``, and only when a drafter is
built, so templates work without the SDK. The client is built with the
config's ``timeout`` and ``max_retries`` (the SDK's defaults are 600 s and 2
retries) and no ``base_url``: the SDK reads ``ANTHROPIC_BASE_URL`` itself, so
a company proxy works. The key is passed explicitly, so the SDK never goes
looking for credentials in profile files; it is never logged, put in a
message or shown by ``repr``.

Why a worker thread: the SDK's timeout bounds each *read*, not the call: a
service that trickles bytes, or a 429 whose ``retry-after`` asks for an hour,
keeps a call going long after it. Each call runs in a daemon thread and the
caller stops waiting at ``deadline_seconds`` (or when its cancel event is
set); the abandoned call ends on its own at the SDK's timeout and its answer
is dropped. The request carries no tools: a draft can change nothing.

Every way the service can fail becomes :class:`LlmUnavailable` with a stable
reason code (see REASONS), never the SDK's message, which may quote a body.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

from crm_core.errors import NextBestError
from crm_core.pitch.fields import PitchFields
from crm_core.pitch.prompt import system_prompt, user_content
from crm_core.pitch.settings import PitchConfig

log = logging.getLogger(__name__)

REASONS = {
    "LLM_DRAFTED": "drafted by the AI service ({model})",
    "LLM_OFF": "AI drafting is switched off (NEXTBEST_LLM=off)",
    "LLM_DISABLED": "AI drafting is switched off in the settings ([pitch] enabled = false)",
    "NO_API_KEY": "no API key configured",
    "SDK_MISSING": "the anthropic package is not installed",
    "TIMEOUT": "the AI service timed out after {seconds:g} s",
    "AUTH": "the AI service refused the key ({status})",
    "FORBIDDEN": "the AI service refused the request ({status})",
    "RATE_LIMITED": "the AI service is rate-limiting requests ({status})",
    "SERVER_ERROR": "the AI service failed ({status})",
    "HTTP_ERROR": "the AI service rejected the request ({status})",
    "CONNECTION": "the AI service could not be reached",
    "BAD_RESPONSE": "the AI service's answer could not be used",
    "REFUSED": "the AI service declined to write this pitch",
    "ERROR": "the AI service call failed ({error})",
    "GAVE_UP": "not sent: the AI service failed {failures} times in a row in this batch (last: {last})",
    "CANCELLED": "the draft was stopped",
}


def reason_text(code: str, params: dict) -> str:
    """The English sentence of a reason code and its parameters."""
    return REASONS[code].format(**params)


class LlmUnavailable(NextBestError):
    """The AI service gave no usable draft; ``code`` (a key of REASONS) and ``params`` say why."""

    def __init__(self, code: str, **params):
        self.code, self.params = code, params
        super().__init__(reason_text(code, params))


@dataclass(frozen=True)
class LlmReply:
    """The model's raw text and what the service reported about it."""

    text: str
    model: str
    stop_reason: str | None
    input_tokens: int
    output_tokens: int


class LlmDrafter:
    """Drafts one pitch per call through the Messages API; safe to share between threads."""

    def __init__(self, config: PitchConfig, api_key: str):
        """Build the SDK client (no connection is opened yet).

        Raises:
            LlmUnavailable: ``NO_API_KEY`` for an empty key, ``SDK_MISSING``
                when the anthropic package is absent.
        """
        if not api_key or not str(api_key).strip():
            raise LlmUnavailable("NO_API_KEY")
        try:
            import anthropic
        except ImportError:
            raise LlmUnavailable("SDK_MISSING") from None
        self._sdk = anthropic
        self._client = anthropic.Anthropic(api_key=str(api_key).strip(), timeout=config.timeout_seconds,
                                           max_retries=config.max_retries)
        self.config = config

    def __repr__(self) -> str:
        c = self.config
        return (f"LlmDrafter(model={c.model!r}, timeout_seconds={c.timeout_seconds}, max_retries={c.max_retries}, "
                f"deadline_seconds={c.deadline_seconds})")

    def draft(self, fields: PitchFields, tone: str, channel: str, language: str, *,
              cancel: threading.Event | None = None) -> LlmReply:
        """The model's answer for one pitch, within ``deadline_seconds``.

        Args:
            fields: the allowlisted offer data (the only data sent).
            tone, channel, language: valid values (checked by the caller).
            cancel: when set, stop waiting at once.
        Raises:
            LlmUnavailable: why there is no answer (timeout, HTTP status, network, cancel...).
        """
        request = {"model": self.config.model, "max_tokens": self.config.max_tokens,
                   "system": system_prompt(tone, channel, language),
                   "messages": [{"role": "user", "content": user_content(fields, tone, channel, language)}]}
        if self.config.effort:
            # extra_body rather than output_config=: older SDKs the requirements allow lack the argument
            request["extra_body"] = {"output_config": {"effort": self.config.effort}}
        if cancel is not None and cancel.is_set():
            raise LlmUnavailable("CANCELLED")
        outcome: dict = {}
        done = threading.Event()

        def call() -> None:
            try:
                outcome["message"] = self._client.messages.create(**request)
            except BaseException as exc:  # noqa: BLE001 - reported to the waiting caller as a reason
                outcome["error"] = exc
            finally:
                done.set()

        started = time.monotonic()
        deadline = started + self.config.deadline_seconds
        threading.Thread(target=call, name="pitch-llm-call", daemon=True).start()
        while not done.wait(min(0.05, max(0.0, deadline - time.monotonic()))):
            if cancel is not None and cancel.is_set():
                raise LlmUnavailable("CANCELLED")
            if time.monotonic() >= deadline:
                raise LlmUnavailable("TIMEOUT", seconds=self.config.deadline_seconds)
        if "error" in outcome:
            raise self._reason(outcome["error"], time.monotonic() - started)
        message = outcome["message"]
        if getattr(message, "stop_reason", None) == "refusal":
            raise LlmUnavailable("REFUSED")
        text = "".join(getattr(b, "text", "") for b in (message.content or []) if getattr(b, "type", "") == "text")
        usage = getattr(message, "usage", None)
        return LlmReply(text=text, model=getattr(message, "model", None) or self.config.model,
                        stop_reason=getattr(message, "stop_reason", None),
                        input_tokens=int(getattr(usage, "input_tokens", 0) or 0),
                        output_tokens=int(getattr(usage, "output_tokens", 0) or 0))

    def close(self) -> None:
        """Close the SDK's connection pool (a call still running then ends with an error nobody waits for)."""
        self._client.close()

    def _reason(self, exc: BaseException, elapsed: float) -> LlmUnavailable:
        """The reason for an SDK exception; logs its class and status only, never its message."""
        sdk = self._sdk
        status = getattr(exc, "status_code", None)
        log.info("AI service call failed: %s%s", type(exc).__name__, f" (HTTP {status})" if status else "")
        if isinstance(exc, sdk.APITimeoutError):
            return LlmUnavailable("TIMEOUT", seconds=round(elapsed, 1))
        if isinstance(exc, sdk.APIConnectionError):
            return LlmUnavailable("CONNECTION")
        if isinstance(exc, sdk.APIStatusError):
            if status == 401:
                return LlmUnavailable("AUTH", status=status)
            if status == 403:
                return LlmUnavailable("FORBIDDEN", status=status)
            if status == 429:
                return LlmUnavailable("RATE_LIMITED", status=status)
            return LlmUnavailable("SERVER_ERROR" if (status or 0) >= 500 else "HTTP_ERROR", status=status)
        if isinstance(exc, sdk.APIResponseValidationError):
            return LlmUnavailable("BAD_RESPONSE")
        return LlmUnavailable("ERROR", error=type(exc).__name__)
