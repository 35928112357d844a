"""customer merges: duplicate customers folded into a survivor, undoable

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-10 09:00:00

One table. A merge keeps both customer rows and records the ids of every row
it moved (transactions, holdings, outcomes, dated attributes, campaign
members, offers with their rank) and of the consent rows it added, so an undo
gives back exactly what was there. A dismissed proposal is a row too (state
``dismissed``), so the same pair is not proposed again.
"""
from alembic import op
import sqlalchemy as sa

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('customer_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('survivor_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('evidence_json', sa.JSON(), nullable=False),
    sa.Column('moved_json', sa.JSON(), nullable=True),
    sa.Column('added_json', sa.JSON(), nullable=True),
    sa.Column('counts_json', sa.JSON(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('created_by', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('undone_by', sa.String(length=64), nullable=True),
    sa.Column('undone_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('undo_reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['merged_id'], ['customers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['survivor_id'], ['customers.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_customer_merges_merged_id', 'customer_merges', ['merged_id'], unique=False)
    op.create_index('ix_customer_merges_survivor_id', 'customer_merges', ['survivor_id'], unique=False)
    op.create_index('ix_customer_merges_workspace_id', 'customer_merges', ['workspace_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_customer_merges_workspace_id', table_name='customer_merges')
    op.drop_index('ix_customer_merges_survivor_id', table_name='customer_merges')
    op.drop_index('ix_customer_merges_merged_id', table_name='customer_merges')
    op.drop_table('customer_merges')
