"""fee_reasons: the district's fee schedule (reasons and usual amounts), edited in the app; empty means the
built-in schedule

Revision ID: 0009
Revises: 0008
"""
from alembic import op
import sqlalchemy as sa


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('fee_reasons',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=200), nullable=False),
    sa.Column('amount', sa.Numeric(precision=10, scale=2), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_fee_reasons_amount_positive')),
    sa.CheckConstraint('length(reason) > 0', name=op.f('ck_fee_reasons_reason_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_fee_reasons')),
    sa.UniqueConstraint('reason', name=op.f('uq_fee_reasons_reason'))
    )


def downgrade():
    op.drop_table('fee_reasons')
