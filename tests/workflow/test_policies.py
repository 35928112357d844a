"""Custom gating policies an admin saves (validated, versioned, never edited in place) and activates."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from crm_core.config import Config
from crm_core.errors import ConfigError, NotFound, PermissionDenied, ValidationError
from crm_core.store.models import ConfigVersion, Workspace
from crm_core.views.policies import latest_policies, policy_table, policy_versions, workspace_policies
from crm_core.workflow.policies import active_policy, find_policy, save_policy, set_active_policy
from tests.workflow.gated_sample import OPTED_OUT, UNKNOWN_CONSENT, events, gated, offers_by_id, offers_of  # noqa: F401

CAREFUL = {"name": "careful", "review_below": 70, "block_below": 20, "review_on": ["low_score"],
           "description": "Review weak offers."}


def _stored_versions(db, name: str) -> list[tuple[int, dict]]:
    with db.read() as s:
        return [(v, dict(b)) for v, b in s.execute(select(ConfigVersion.version, ConfigVersion.body_json)
                                                   .where(ConfigVersion.name == name).order_by(ConfigVersion.version))]


def test_saving_twice_gives_versions_1_and_2_and_keeps_both(db, admin):
    first = save_policy(db, admin, CAREFUL)
    second = save_policy(db, admin, {**CAREFUL, "review_below": 75, "version": 9})  # a given version is ignored
    assert (first.version, second.version) == (1, 2)
    assert [(v, b["review_below"]) for v, b in _stored_versions(db, "careful")] == [(1, 70), (2, 75)]
    assert first.review_on == ("LOW_SCORE",)  # codes are checked and upper-cased
    assert find_policy(db, "careful", Config()) == second
    assert [(p.policy.version, p.saved_by) for p in policy_versions(db) if p.policy.name == "careful"] == \
        [(1, "ada"), (2, "ada")]
    assert latest_policies(db)["careful"] == second
    saves = events(db, "policy.save")
    assert [e["before_json"] and e["before_json"]["version"] for e in saves] == [None, 1]
    assert [e["after_json"]["version"] for e in saves] == [1, 2]


@pytest.mark.parametrize("name", ["standard", "Strict", " permissive "])
def test_a_built_in_name_is_refused_and_nothing_is_stored(db, admin, name):
    with pytest.raises(ConfigError, match="built-in"):
        save_policy(db, admin, {**CAREFUL, "name": name})
    with db.read() as s:
        assert s.scalar(select(func.count()).select_from(ConfigVersion)) == 0


@pytest.mark.parametrize("change, message", [
    ({"block_below": 90}, "block_below .* must not be above review_below"),
    ({"review_on": ["NOT_A_FLAG"]}, "unknown flag code"),
    ({"escalate": ["WARN"]}, "unknown flag code"),  # severities may be reviewed on, not escalated
    ({"review_below": 101}, "review_below must be an audit score from 0 to 100"),
    ({"allow_errors": True}, "Unknown .* setting"),
    ({"name": "Has Spaces"}, "name must be lower-case letters"),
])
def test_an_invalid_policy_is_refused_with_what_is_wrong(db, admin, change, message):
    with pytest.raises(ConfigError, match=message):
        save_policy(db, admin, {**CAREFUL, **change})
    assert _stored_versions(db, "careful") == []


@pytest.mark.parametrize("who", ["viewer", "analyst", "manager"])
def test_only_an_admin_manages_policies(gated, request, who):
    db, ws, _ = gated
    actor = request.getfixturevalue(who)
    before = offers_by_id(db)
    with pytest.raises(PermissionDenied, match="admin"):
        save_policy(db, actor, CAREFUL)
    with pytest.raises(PermissionDenied, match="admin"):
        set_active_policy(db, actor, ws, "strict")
    assert _stored_versions(db, "careful") == []
    assert [w.policy_name for w in workspace_policies(db)] == ["standard", "standard"]
    assert offers_by_id(db) == before


def test_errors_stay_blocked_under_a_custom_policy_that_blocks_nothing_by_score(gated, admin):
    db, ws, _ = gated
    save_policy(db, admin, {"name": "lenient", "review_below": 0, "block_below": 0})
    result = set_active_policy(db, admin, ws, "lenient")
    after = offers_by_id(db)
    opted_out = set(offers_of(db, OPTED_OUT))
    assert {after[i]["gate"] for i in opted_out} == {"BLOCK"}
    assert {o["gate"] for i, o in after.items() if i not in opted_out} == {"PASS"}
    assert {(o["policy_name"], o["policy_version"]) for o in after.values()} == {("lenient", 1)}
    assert result.gates_after == {"BLOCK": len(opted_out), "PASS": len(after) - len(opted_out)}


def test_saving_a_new_version_of_the_active_policy_regates_that_workspace(gated, admin):
    db, ws, _ = gated
    save_policy(db, admin, {"name": "careful", "review_below": 50, "block_below": 0})
    set_active_policy(db, admin, ws, "careful")
    unknown = offers_of(db, UNKNOWN_CONSENT)
    assert {offers_by_id(db)[i]["gate"] for i in unknown} == {"PASS"}
    save_policy(db, admin, {"name": "careful", "review_below": 50, "block_below": 0, "review_on": ["CONSENT_UNKNOWN"]})
    after = offers_by_id(db)
    assert {after[i]["gate"] for i in unknown} == {"REVIEW"}
    assert {(o["policy_name"], o["policy_version"]) for o in after.values()} == {("careful", 2)}
    assert active_policy(db, ws, Config()).version == 2


def test_saving_a_policy_no_workspace_uses_touches_no_offer(gated, admin):
    db, _, _ = gated
    before = offers_by_id(db)
    save_policy(db, admin, CAREFUL)
    assert offers_by_id(db) == before
    assert events(db, "offers.regate") == []


def test_activation_is_recorded_with_the_old_and_new_policy_and_the_counts(gated, admin):
    db, ws, _ = gated
    result = set_active_policy(db, admin, ws, "Strict")
    (event,) = events(db, "policy.activate")
    assert (event["actor"], event["actor_role"], event["workspace_id"]) == ("ada", "admin", ws)
    assert event["before_json"] == {"policy_name": "standard"}
    assert event["after_json"]["policy_name"] == "strict"
    assert event["after_json"]["changed"] == result.changed > 0
    with db.read() as s:
        assert s.get(Workspace, ws).policy_name == "strict"


def test_an_unknown_policy_or_workspace_is_refused(gated, admin):
    db, ws, _ = gated
    with pytest.raises(ValidationError, match="Unknown gating policy 'nope'; known: permissive, standard, strict"):
        set_active_policy(db, admin, ws, "nope")
    with pytest.raises(NotFound, match="no workspace #9999"):
        set_active_policy(db, admin, 9999, "strict")


def test_the_policy_table_lists_every_version_and_where_the_newest_is_active(gated, admin):
    db, ws, _ = gated
    save_policy(db, admin, CAREFUL)
    save_policy(db, admin, {**CAREFUL, "block_below": 10})
    set_active_policy(db, admin, ws, "careful")
    table = policy_table(db)
    assert table[["policy", "version", "kind"]].values.tolist() == [
        ["permissive", 1, "built-in"], ["standard", 1, "built-in"], ["strict", 1, "built-in"],
        ["careful", 1, "custom"], ["careful", 2, "custom"]]
    active = dict(zip(table["policy"] + " v" + table["version"].astype(str), table["active_in"]))
    assert active == {"permissive v1": "", "standard v1": "bank", "strict v1": "", "careful v1": "",
                      "careful v2": "shop"}
