"""review workflow, keyed append-only audit log, pitches, policies, settings versions, revocable logins

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00

What it adds: the gate's verdict in full on offers (policy and version, the
facts it judged, origin of hand edits, who decided), decision history details,
campaign offers, members' strata and exclusions, pitch versions with tone,
channel and checks, outcome responses, saved config versions (settings and
gate policies), a per-user token version for revocable login cookies, kept model-health checks, the
active policy and language per workspace, import reverts and stale runs.

The audit log becomes append-only and keyed: its link to workspaces is
dropped (no cascade or SET NULL may touch it), ``prev_hash`` becomes unique
(no fork), the existing chain is checked with its old plain SHA-256 hashes
and re-hashed with the HMAC key (refused, naming the first bad event, when
the old chain was already broken), then triggers refuse UPDATE and DELETE.
"""
import datetime as dt
import hashlib
import json

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be changed'); END",
    "CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: events cannot be deleted'); END",
)
_PG_TRIGGERS = (
    "CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
    "BEGIN RAISE EXCEPTION 'audit_events is append-only: % refused', TG_OP; END $$",
    "CREATE TRIGGER audit_events_no_change BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)


def upgrade() -> None:
    op.create_table('config_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('name', sa.String(length=60), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('body_json', sa.JSON(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('kind', 'name', 'version')
    )
    op.create_table('campaign_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campaign_id', sa.Integer(), nullable=False),
    sa.Column('offer_id', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['campaign_id'], ['campaigns.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['offer_id'], ['offers.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('campaign_id', 'offer_id')
    )
    with op.batch_alter_table('campaign_offers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_campaign_offers_offer_id'), ['offer_id'], unique=False)

    op.create_table('model_health_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=True),
    sa.Column('cutoff', sa.Date(), nullable=False),
    sa.Column('horizon_days', sa.Integer(), nullable=False),
    sa.Column('top_n', sa.Integer(), nullable=False),
    sa.Column('evaluation_json', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('model_health_checks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_health_checks_workspace_id'), ['workspace_id'], unique=False)

    with op.batch_alter_table('campaign_members', schema=None) as batch_op:
        batch_op.add_column(sa.Column('segment', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('excluded_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('campaigns', schema=None) as batch_op:
        batch_op.add_column(sa.Column('exported_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('selection_json', sa.JSON(), nullable=True))

    with op.batch_alter_table('decisions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('state_before', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('version_before', sa.Integer(), nullable=True))

    with op.batch_alter_table('import_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reverted_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reverted_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('revert_reason', sa.Text(), nullable=True))

    with op.batch_alter_table('offers', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_name', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('policy_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('facts_json', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('origin', sa.String(length=10), nullable=False, server_default='engine'))
        batch_op.add_column(sa.Column('original_offer_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('decided_by', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key('fk_offers_original_offer_id', 'offers', ['original_offer_id'], ['id'],
                                    ondelete='SET NULL')

    with op.batch_alter_table('outcomes', schema=None) as batch_op:
        batch_op.add_column(sa.Column('responded', sa.Boolean(), nullable=True))

    with op.batch_alter_table('pipeline_runs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('contact_date', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('policy_name', sa.String(length=60), nullable=True))
        batch_op.add_column(sa.Column('policy_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('settings_version', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('stale_reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('runner', sa.String(length=200), nullable=True))

    with op.batch_alter_table('pitches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.add_column(sa.Column('subject', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('tone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('channel', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('request_hash', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('failures_json', sa.JSON(), nullable=True))

    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('token_version', sa.Integer(), nullable=False, server_default='0'))

    with op.batch_alter_table('workspaces', schema=None) as batch_op:
        batch_op.add_column(sa.Column('policy_name', sa.String(length=60), nullable=False,
                                      server_default='standard'))
        batch_op.add_column(sa.Column('language', sa.String(length=20), nullable=False, server_default='en'))

    _audit_log_append_only()


def _audit_log_append_only() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"
    # SQLite keeps the reflected foreign key unnamed: the naming convention gives it a name to drop.
    convention = {"fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s"}
    with op.batch_alter_table('audit_events', schema=None, naming_convention=convention) as batch_op:
        batch_op.add_column(sa.Column('actor_role', sa.String(length=20), nullable=True))
        batch_op.drop_constraint('fk_audit_events_workspace_id_workspaces' if sqlite
                                 else 'audit_events_workspace_id_fkey', type_='foreignkey')
    _rehash_with_key(bind)
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_unique_constraint('uq_audit_events_prev_hash', ['prev_hash'])
    for statement in (_SQLITE_TRIGGERS if sqlite else _PG_TRIGGERS):
        op.execute(statement)


def _old_digest(prev_hash, occurred_at, actor, action, entity, entity_id, before, after, reason, workspace_id):
    """The plain SHA-256 of revisions 0001-0005 (kept here as it was, to check the old chain)."""
    stamp = occurred_at.astimezone(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds")
    body = json.dumps([prev_hash, stamp, actor, action, entity, entity_id, before, after, reason, workspace_id],
                      sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def _rehash_with_key(bind) -> None:
    from crm_core.store.audit_log import GENESIS, audit_key, event_digest

    rows = bind.execute(sa.text("SELECT id, occurred_at, actor, action, entity, entity_id, before_json, after_json, "
                                "reason, workspace_id, prev_hash, hash FROM audit_events ORDER BY id")).all()
    if not rows:
        return
    key, old_prev, new_prev, updates = audit_key(), GENESIS, GENESIS, []
    for r in rows:
        occurred = r.occurred_at
        if isinstance(occurred, str):
            occurred = dt.datetime.fromisoformat(occurred)
        if occurred.tzinfo is None:
            occurred = occurred.replace(tzinfo=dt.timezone.utc)
        before = json.loads(r.before_json) if isinstance(r.before_json, str) else r.before_json
        after = json.loads(r.after_json) if isinstance(r.after_json, str) else r.after_json
        if r.prev_hash != old_prev or r.hash != _old_digest(old_prev, occurred, r.actor, r.action, r.entity,
                                                            r.entity_id, before, after, r.reason, r.workspace_id):
            raise RuntimeError(f"The audit log was already broken at event {r.id} before this upgrade; it is not "
                               "re-keyed. Restore a backup taken before the change, or ask your administrator.")
        old_prev = r.hash
        digest = event_digest(key, new_prev, occurred, r.actor, None, r.action, r.entity, r.entity_id, before,
                              after, r.reason, r.workspace_id)
        updates.append({"id": r.id, "prev": new_prev, "hash": digest})
        new_prev = digest
    bind.execute(sa.text("UPDATE audit_events SET prev_hash = :prev, hash = :hash WHERE id = :id"), updates)


def downgrade() -> None:
    raise NotImplementedError("Revision 0006 makes the audit log append-only and keyed; it is not undone.")
