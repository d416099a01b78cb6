"""google fleet: org unit mappings, campus tag rules for new devices, and each device's Google panel facts

Revision ID: 0027
Revises: 0026
"""
from alembic import op
import sqlalchemy as sa


revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('google_org_units',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=255), nullable=False),
    sa.Column('prefix_key', sa.String(length=255), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_google_org_units_campus_id_campuses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_google_org_units_room_id_rooms'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_org_units')),
    sa.UniqueConstraint('prefix_key', name=op.f('uq_google_org_units_prefix_key'))
    )
    with op.batch_alter_table('google_org_units', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_google_org_units_campus_id'), ['campus_id'], unique=False)

    op.create_table('google_tag_rules',
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_google_tag_rules_campus_id_campuses'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('campus_id', name=op.f('pk_google_tag_rules'))
    )
    op.create_table('google_devices',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('os_version', sa.String(length=64), nullable=True),
    sa.Column('notes', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_google_devices_asset_id_assets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_google_devices'))
    )


def downgrade():
    op.drop_table('google_devices')
    op.drop_table('google_tag_rules')
    with op.batch_alter_table('google_org_units', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_google_org_units_campus_id'))
    op.drop_table('google_org_units')
