"""remembered_sessions: user_sessions.remember_until, for phones that stay signed in ("keep me signed in")

Revision ID: 0016
Revises: 0015
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (nullable, no default): every existing session stays a browser session that idles out.
    op.add_column('user_sessions', sa.Column('remember_until', sa.DateTime(), nullable=True))


def downgrade():
    # Remembered sessions lose what keeps them past the idle limit; their remember cookies end with them.
    op.execute("DELETE FROM user_sessions WHERE remember_until IS NOT NULL")
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('remember_until')
