"""disposal: batches of retired devices for a recycler, the devices in them, and the certificate of data
destruction

Revision ID: 0029
Revises: 0028
"""
from alembic import op
import sqlalchemy as sa


revision = '0029'
down_revision = '0028'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('disposal_batches',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('vendor_id', sa.Integer(), nullable=False),
    sa.Column('planned_on', sa.Date(), nullable=True),
    sa.Column('status', sa.Enum('open', 'picked_up', 'disposed', name='disposal_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('picked_up_on', sa.Date(), nullable=True),
    sa.Column('picked_up_by_id', sa.Integer(), nullable=True),
    sa.Column('disposed_on', sa.Date(), nullable=True),
    sa.Column('disposed_by_id', sa.Integer(), nullable=True),
    sa.Column('certificate_number', sa.String(length=80), nullable=True),
    sa.CheckConstraint("status <> 'disposed' OR (disposed_on IS NOT NULL AND certificate_number IS NOT NULL)", name=op.f('ck_disposal_batches_disposed_has_certificate')),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_disposal_batches_campus_id_campuses')),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_disposal_batches_created_by_id_users')),
    sa.ForeignKeyConstraint(['disposed_by_id'], ['users.id'], name=op.f('fk_disposal_batches_disposed_by_id_users')),
    sa.ForeignKeyConstraint(['picked_up_by_id'], ['users.id'], name=op.f('fk_disposal_batches_picked_up_by_id_users')),
    sa.ForeignKeyConstraint(['vendor_id'], ['vendors.id'], name=op.f('fk_disposal_batches_vendor_id_vendors')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_batches'))
    )
    with op.batch_alter_table('disposal_batches', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_batches_campus_id'), ['campus_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_disposal_batches_vendor_id'), ['vendor_id'], unique=False)

    op.create_table('disposal_certificates',
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=40), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('uploaded_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['batch_id'], ['disposal_batches.id'], name=op.f('fk_disposal_certificates_batch_id_disposal_batches'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('batch_id', name=op.f('pk_disposal_certificates'))
    )
    op.create_table('disposal_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('batch_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('added_at', sa.DateTime(), nullable=False),
    sa.Column('added_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['added_by_id'], ['users.id'], name=op.f('fk_disposal_items_added_by_id_users')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_disposal_items_asset_id_assets')),
    sa.ForeignKeyConstraint(['batch_id'], ['disposal_batches.id'], name=op.f('fk_disposal_items_batch_id_disposal_batches')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_disposal_items')),
    sa.UniqueConstraint('asset_id', name=op.f('uq_disposal_items_asset_id'))
    )
    with op.batch_alter_table('disposal_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_disposal_items_batch_id'), ['batch_id'], unique=False)



def downgrade():
    with op.batch_alter_table('disposal_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_items_batch_id'))

    op.drop_table('disposal_items')
    op.drop_table('disposal_certificates')
    with op.batch_alter_table('disposal_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_disposal_batches_vendor_id'))
        batch_op.drop_index(batch_op.f('ix_disposal_batches_campus_id'))

    op.drop_table('disposal_batches')
