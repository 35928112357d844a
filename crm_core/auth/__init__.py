"""Users, roles and permissions; enforced here, not only in the UI."""

from crm_core.auth.roles import SYSTEM_CLI, Action, Actor, Role, can, require

__all__ = ["Action", "Actor", "Role", "SYSTEM_CLI", "can", "require"]
