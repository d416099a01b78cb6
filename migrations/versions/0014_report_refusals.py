"""report_refusals: student reports a rate limit refused, counted per device and hour, for staff to see

Revision ID: 0014
Revises: 0013
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('report_refusals',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('hour', sa.DateTime(), nullable=False),
    sa.Column('count', sa.Integer(), server_default='0', nullable=False),
    sa.Column('last_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_report_refusals_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', 'hour', name=op.f('pk_report_refusals'))
    )
    with op.batch_alter_table('report_refusals', schema=None) as batch_op:
        batch_op.create_index('ix_report_refusals_hour', ['hour'], unique=False)


def downgrade():
    with op.batch_alter_table('report_refusals', schema=None) as batch_op:
        batch_op.drop_index('ix_report_refusals_hour')

    op.drop_table('report_refusals')
