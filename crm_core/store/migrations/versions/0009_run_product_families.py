"""keep each run's product families

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 15:00:00

One nullable JSON column. The pages group and filter offers by product
family: the catalog's, else the product's most frequent sales category. For
products without a catalog family that meant grouping every sales line of
those products, on every first view: 150-180 s at 10M lines. A run now keeps
the family the engine gave each product it offers (``{product key: family}``);
runs stored before this revision have none and are worked out as before.
"""
from alembic import op
import sqlalchemy as sa

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('pipeline_runs', sa.Column('families_json', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('pipeline_runs') as batch:
        batch.drop_column('families_json')
