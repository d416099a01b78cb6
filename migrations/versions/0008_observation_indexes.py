"""observations: drop the indexes on by_id and event_id; nothing looks sightings up by them, and every scan paid
for them (event_id is a random UUID, so each insert touched a different index page)

Revision ID: 0008
Revises: 0007
"""
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observations_event_id'))
        batch_op.drop_index(batch_op.f('ix_observations_by_id'))


def downgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_observations_by_id'), ['by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_event_id'), ['event_id'], unique=False)
