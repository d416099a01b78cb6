"""user_sessions: one row per signed-in browser or phone, so signing out ends that session for good

Revision ID: 0013
Revises: 0012
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(), nullable=False),
    sa.Column('user_agent', sa.String(length=255), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions')),
    sa.UniqueConstraint('key_hash', name=op.f('uq_user_sessions_key_hash'))
    )
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_user_sessions_user_id'), ['user_id'], unique=False)
    # Sessions now live in user_sessions; cookies that carried the old per-user token end (everyone signs in once).
    # A plain ALTER TABLE (SQLite 3.35+ has DROP COLUMN): batch mode would copy and drop the users table, which
    # rows elsewhere refer to.
    op.drop_column('users', 'session_token')


def downgrade():
    op.add_column('users', sa.Column('session_token', sa.String(length=32), nullable=False, server_default=''))
    random_hex = 'lower(hex(randomblob(16)))' if op.get_bind().dialect.name == 'sqlite' else 'md5(random()::text)'
    op.execute(f"UPDATE users SET session_token = {random_hex}")
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_user_sessions_user_id'))

    op.drop_table('user_sessions')
