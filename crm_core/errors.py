"""The error hierarchy: every failure a user can act on is a NextBestError.

Messages name the file, row, column or rule involved and what to do instead,
so the UI can show them with st.error and the CLI can print them as they are.
"""


class NextBestError(Exception):
    """Base of every error NextBest raises on purpose."""


class ConfigError(NextBestError):
    """A configuration file or value is invalid."""


class ValidationError(NextBestError):
    """A value given by the user (a role name, a reason, a date) is not valid; the message says what is."""


class PermissionDenied(NextBestError):
    """The acting user's role does not allow this action."""


class NotFound(NextBestError):
    """A workspace, run, offer or user that was asked for does not exist."""


class ConflictError(NextBestError):
    """Somebody else changed the record first (optimistic locking)."""


class ImportFailed(NextBestError):
    """A file could not be imported; nothing of it was stored."""


class PipelineFailed(NextBestError):
    """A pipeline stage failed; the previous run is left intact."""


class ModelNotFitted(NextBestError):
    """A model method was called before fit()."""
