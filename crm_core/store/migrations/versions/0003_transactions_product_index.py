"""index transactions by product

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 04:05:00
"""
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_transactions_product", "transactions", ["product_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_transactions_product", table_name="transactions")
