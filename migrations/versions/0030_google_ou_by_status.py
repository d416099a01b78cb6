"""google sync: the org unit write-back moves devices to for each status

Revision ID: 0030
Revises: 0029
"""
from alembic import op
import sqlalchemy as sa


revision = '0030'
down_revision = '0029'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('google_sync_state', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ou_by_status', sa.JSON(), nullable=True))


def downgrade():
    with op.batch_alter_table('google_sync_state', schema=None) as batch_op:
        batch_op.drop_column('ou_by_status')
