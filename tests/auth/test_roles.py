"""Roles and actions: each action has its own identity and least role."""

import pytest

from crm_core.auth import Action, Actor, Role, can, require
from crm_core.errors import PermissionDenied


def test_actions_are_distinct_members():
    assert len(list(Action)) == 11
    assert Action.RUN_PIPELINE is not Action.IMPORT_DATA


@pytest.mark.parametrize("role,action,allowed", [
    (Role.VIEWER, Action.VIEW, True), (Role.VIEWER, Action.IMPORT_DATA, False),
    (Role.ANALYST, Action.RUN_PIPELINE, True), (Role.ANALYST, Action.DECIDE_OFFERS, False),
    (Role.MANAGER, Action.DECIDE_OFFERS, True), (Role.MANAGER, Action.MANAGE_USERS, False),
    (Role.ADMIN, Action.MANAGE_USERS, True),
])
def test_least_role_per_action(role, action, allowed):
    assert can(Actor("u", role), action) is allowed


def test_refusal_names_the_action_and_the_needed_role():
    with pytest.raises(PermissionDenied, match="may not run the pipeline: that needs the analyst role"):
        require(Actor("val", "viewer"), Action.RUN_PIPELINE)
    with pytest.raises(PermissionDenied, match="Log in"):
        require(None, Action.VIEW)


@pytest.mark.parametrize("role, sentence", [(Role.ANALYST, "is an analyst"), (Role.VIEWER, "is a viewer"),
                                            (Role.MANAGER, "is a manager")])
def test_refusal_uses_the_right_article(role, sentence):
    with pytest.raises(PermissionDenied, match=f"^u {sentence} and may not manage users"):
        require(Actor("u", role), Action.MANAGE_USERS)
    assert Role.ADMIN.with_article == "an admin"


def test_a_misspelt_role_is_a_validation_error_not_a_refusal():
    from crm_core.errors import ValidationError

    with pytest.raises(ValidationError, match="Unknown role 'mangaer'; use one of viewer, analyst, manager, admin"):
        Role.parse("mangaer")
    with pytest.raises(ValidationError):
        Actor("u", "analsyt")
