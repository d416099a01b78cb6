"""stock_adjustments: every change to a campus's stock of a part, with its reason (counted, received, damaged,
lost, used on a ticket), the change, what was left and who made it

Revision ID: 0017
Revises: 0016
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('stock_adjustments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('part_id', sa.Integer(), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.Enum('counted', 'received', 'damaged', 'lost', 'used', name='stock_reason', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('delta', sa.Integer(), nullable=False),
    sa.Column('stock_after', sa.Integer(), nullable=False),
    sa.Column('note', sa.String(length=300), server_default='', nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('stock_after >= 0', name=op.f('ck_stock_adjustments_stock_after_not_negative')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_stock_adjustments_by_id_users')),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_stock_adjustments_campus_id_campuses')),
    sa.ForeignKeyConstraint(['part_id'], ['parts.id'], name=op.f('fk_stock_adjustments_part_id_parts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_stock_adjustments_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_adjustments'))
    )
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stock_adjustments_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_stock_adjustments_part_id'), ['part_id'], unique=False)



def downgrade():
    with op.batch_alter_table('stock_adjustments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stock_adjustments_part_id'))
        batch_op.drop_index(batch_op.f('ix_stock_adjustments_at'))

    op.drop_table('stock_adjustments')
