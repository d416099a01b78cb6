"""people_external_id_lower: student and staff IDs are looked up in any case, through an index on lower(external_id)

Revision ID: 0015
Revises: 0014
"""
from alembic import op
import sqlalchemy as sa


revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_people_external_id_lower', 'people', [sa.text('lower(external_id)')], unique=False)


def downgrade():
    op.drop_index('ix_people_external_id_lower', table_name='people')
