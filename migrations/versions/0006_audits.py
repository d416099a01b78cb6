"""room audits: audits (one per phone, grouped per room) and audit_items (the recorded result of a closed audit)

Revision ID: 0006
Revises: 0005
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('audits',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('uuid', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('primary_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('open', 'closed', name='audit_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('started_by_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('closed_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint("closed_at IS NULL OR status = 'closed'", name=op.f('ck_audits_closed_at_only_when_closed')),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_audits_campus_id_campuses')),
    sa.ForeignKeyConstraint(['closed_by_id'], ['users.id'], name=op.f('fk_audits_closed_by_id_users')),
    sa.ForeignKeyConstraint(['primary_id'], ['audits.id'], name=op.f('fk_audits_primary_id_audits')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_audits_room_id_rooms')),
    sa.ForeignKeyConstraint(['started_by_id'], ['users.id'], name=op.f('fk_audits_started_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audits')),
    sa.UniqueConstraint('uuid', name=op.f('uq_audits_uuid'))
    )
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.create_index('ix_audits_campus_closed', ['campus_id', 'closed_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_audits_campus_id'), ['campus_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audits_primary_id'), ['primary_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audits_room_id'), ['room_id'], unique=False)
        batch_op.create_index('ix_audits_room_status', ['room_id', 'status'], unique=False)

    op.create_table('audit_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('audit_id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('outcome', sa.Enum('found', 'missing', 'unexpected', name='audit_outcome', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('home_room_id', sa.Integer(), nullable=True),
    sa.Column('scans', sa.Integer(), server_default='0', nullable=False),
    sa.Column('condition', sa.Enum('good', 'fair', 'damaged', 'broken', name='audit_item_condition', native_enum=False, create_constraint=True), nullable=True),
    sa.CheckConstraint('scans >= 0', name=op.f('ck_audit_items_scans_not_negative')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_audit_items_asset_id_assets')),
    sa.ForeignKeyConstraint(['audit_id'], ['audits.id'], name=op.f('fk_audit_items_audit_id_audits'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['home_room_id'], ['rooms.id'], name=op.f('fk_audit_items_home_room_id_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_items')),
    sa.UniqueConstraint('audit_id', 'asset_id', name=op.f('uq_audit_items_audit_id_asset_id'))
    )
    with op.batch_alter_table('audit_items', schema=None) as batch_op:
        batch_op.create_index('ix_audit_items_outcome_asset', ['outcome', 'asset_id'], unique=False)



def downgrade():
    with op.batch_alter_table('audit_items', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_items_outcome_asset')

    op.drop_table('audit_items')
    with op.batch_alter_table('audits', schema=None) as batch_op:
        batch_op.drop_index('ix_audits_room_status')
        batch_op.drop_index(batch_op.f('ix_audits_room_id'))
        batch_op.drop_index(batch_op.f('ix_audits_primary_id'))
        batch_op.drop_index(batch_op.f('ix_audits_campus_id'))
        batch_op.drop_index('ix_audits_campus_closed')

    op.drop_table('audits')
