"""members' SSH public keys (crm-tui serve)

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ssh_key',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('account_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('algorithm', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('key_data', sa.Text(), nullable=False),
    sa.Column('comment', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('fingerprint', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('created_at', sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['account.id'], ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['member_id'], ['member.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_data'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('ssh_key', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ssh_key_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ssh_key_member_id'), ['member_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('ssh_key', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ssh_key_member_id'))
        batch_op.drop_index(batch_op.f('ix_ssh_key_account_id'))
    op.drop_table('ssh_key')
