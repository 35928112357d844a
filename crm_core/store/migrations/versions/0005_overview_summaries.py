"""overview summaries kept until the next sales import

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 07:30:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('overview_summaries',
    sa.Column('workspace_id', sa.Integer(), nullable=False),
    sa.Column('transactions_batch_id', sa.Integer(), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('kpis_json', sa.JSON(), nullable=False),
    sa.Column('months_json', sa.JSON(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workspace_id'], ['workspaces.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('workspace_id')
    )


def downgrade() -> None:
    op.drop_table('overview_summaries')
