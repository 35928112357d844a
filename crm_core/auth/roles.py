"""Roles and the actions each may take.

Every service function that changes something takes the acting user
(an :class:`Actor`) and calls :func:`require` first, so that a wrong role
raises :class:`~crm_core.errors.PermissionDenied` whatever the UI shows.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from crm_core.errors import PermissionDenied, ValidationError


class Role(enum.IntEnum):
    """Roles in increasing order of power; each can do what the one below can."""

    VIEWER = 10
    ANALYST = 20
    MANAGER = 30
    ADMIN = 40

    @classmethod
    def parse(cls, name: str) -> "Role":
        """Role from its name (case-insensitive); a name that is no role raises ValidationError."""
        try:
            return cls[str(name).strip().upper()]
        except KeyError:
            raise ValidationError(f"Unknown role {name!r}; use one of "
                                   + ", ".join(r.name.lower() for r in cls)) from None

    @property
    def label(self) -> str:
        """The role's name as shown and stored: ``analyst``."""
        return self.name.lower()

    @property
    def with_article(self) -> str:
        """``an analyst``, ``a manager``: the role in a sentence."""
        return ("an " if self.label[0] in "aeiou" else "a ") + self.label


class Action(enum.Enum):
    """Things a user can do; ``min_role`` is the least role that may do each."""

    VIEW = "view"
    IMPORT_DATA = "import data"
    RUN_PIPELINE = "run the pipeline"
    DRAFT_PITCH = "draft pitches"
    SUBMIT_OFFERS = "submit offers"
    DECIDE_OFFERS = "decide on offers"
    EXPORT_CAMPAIGN = "export campaigns"
    MANAGE_USERS = "manage users"
    MANAGE_POLICIES = "manage gating policies"
    MANAGE_CATALOG = "manage the catalog"
    MANAGE_WORKSPACES = "manage workspaces"

    @property
    def min_role(self) -> "Role":
        return _MIN_ROLE[self]


_MIN_ROLE = {
    Action.VIEW: Role.VIEWER,
    Action.IMPORT_DATA: Role.ANALYST,
    Action.RUN_PIPELINE: Role.ANALYST,
    Action.DRAFT_PITCH: Role.ANALYST,
    Action.SUBMIT_OFFERS: Role.ANALYST,
    Action.DECIDE_OFFERS: Role.MANAGER,
    Action.EXPORT_CAMPAIGN: Role.MANAGER,
    Action.MANAGE_USERS: Role.ADMIN,
    Action.MANAGE_POLICIES: Role.ADMIN,
    Action.MANAGE_CATALOG: Role.ADMIN,
    Action.MANAGE_WORKSPACES: Role.ADMIN,
}


@dataclass(frozen=True)
class Actor:
    """The user on whose behalf a service call runs."""

    username: str
    role: Role

    def __post_init__(self):
        if not isinstance(self.role, Role):
            object.__setattr__(self, "role", Role.parse(self.role))


SYSTEM_CLI = Actor("cli", Role.ADMIN)
"""The system principal of command-line and scheduled runs."""


def can(actor: Actor, action: Action) -> bool:
    """Whether ``actor`` may take ``action``."""
    return actor.role >= action.min_role


def require(actor: Actor | None, action: Action) -> None:
    """Raise PermissionDenied unless ``actor`` may take ``action``."""
    if actor is None:
        raise PermissionDenied(f"Log in to {action.value}.")
    if not can(actor, action):
        raise PermissionDenied(
            f"{actor.username} is {actor.role.with_article} and may not {action.value}: "
            f"that needs the {action.min_role.label} role or higher."
        )
