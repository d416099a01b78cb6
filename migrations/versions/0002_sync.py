"""offline sync: sync events (exactly-once ids), observations, unknown scanned tags

Revision ID: 0002
Revises: 0001
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sync_events',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('type', sa.String(length=40), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('client_id', sa.String(length=64), server_default='', nullable=False),
    sa.Column('status', sa.Enum('applied', 'rejected', name='sync_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('client_at', sa.DateTime(), nullable=True),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('data', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_sync_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sync_events'))
    )
    with op.batch_alter_table('sync_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sync_events_received_at'), ['received_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_sync_events_user_id'), ['user_id'], unique=False)

    op.create_table('unknown_scans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=120), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('resolved_at', sa.DateTime(), nullable=True),
    sa.Column('resolved_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_unknown_scans_by_id_users')),
    sa.ForeignKeyConstraint(['resolved_by_id'], ['users.id'], name=op.f('fk_unknown_scans_resolved_by_id_users')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_unknown_scans_room_id_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unknown_scans'))
    )
    with op.batch_alter_table('unknown_scans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unknown_scans_resolved_at'), ['resolved_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_unknown_scans_room_id'), ['room_id'], unique=False)

    op.create_table('observations',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.Enum('good', 'fair', 'damaged', 'broken', name='observation_condition', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('audit_id', sa.String(length=64), nullable=True),
    sa.Column('source', sa.Enum('scan', 'audit', 'loan', 'report', 'manual', 'demo', name='observation_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('via', sa.Enum('web', 'api', 'sync', 'import', 'cli', 'public', name='observation_via', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=True),
    sa.Column('flagged', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_observations_asset_id_assets')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_observations_by_id_users')),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_observations_room_id_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_observations'))
    )
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.create_index('ix_observations_asset_at', ['asset_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_audit_id'), ['audit_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_by_id'), ['by_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_observations_room_id'), ['room_id'], unique=False)


def downgrade():
    with op.batch_alter_table('observations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_observations_room_id'))
        batch_op.drop_index(batch_op.f('ix_observations_event_id'))
        batch_op.drop_index(batch_op.f('ix_observations_by_id'))
        batch_op.drop_index(batch_op.f('ix_observations_audit_id'))
        batch_op.drop_index('ix_observations_asset_at')
    op.drop_table('observations')
    with op.batch_alter_table('unknown_scans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unknown_scans_room_id'))
        batch_op.drop_index(batch_op.f('ix_unknown_scans_resolved_at'))
    op.drop_table('unknown_scans')
    with op.batch_alter_table('sync_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sync_events_user_id'))
        batch_op.drop_index(batch_op.f('ix_sync_events_received_at'))
    op.drop_table('sync_events')
