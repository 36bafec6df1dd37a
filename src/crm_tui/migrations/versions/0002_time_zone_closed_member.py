"""member time zone; what a closed account keeps of its members

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04
"""
from alembic import op
import sqlalchemy as sa
import sqlmodel


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.add_column(sa.Column('time_zone', sqlmodel.sql.sqltypes.AutoString(), nullable=False, server_default=''))
    op.create_table('closed_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('closed_account_id', sa.Integer(), nullable=False),
    sa.Column('email_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.Column('password_hash', sqlmodel.sql.sqltypes.AutoString(), nullable=False),
    sa.ForeignKeyConstraint(['closed_account_id'], ['closed_account.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sqlite_autoincrement=True
    )
    with op.batch_alter_table('closed_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_closed_member_closed_account_id'), ['closed_account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_closed_member_email_hash'), ['email_hash'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('closed_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_closed_member_email_hash'))
        batch_op.drop_index(batch_op.f('ix_closed_member_closed_account_id'))
    op.drop_table('closed_member')
    with op.batch_alter_table('member', schema=None) as batch_op:
        batch_op.drop_column('time_zone')
