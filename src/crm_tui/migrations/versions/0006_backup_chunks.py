"""backups stored in the database, in chunks (for a shared database)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('backup_chunk',
    sa.Column('backup_id', sa.Integer(), nullable=False),
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.ForeignKeyConstraint(['backup_id'], ['backup.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('backup_id', 'seq')
    )


def downgrade() -> None:
    op.drop_table('backup_chunk')
