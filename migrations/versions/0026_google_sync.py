"""google sync: runs of the live Directory API sync, the district's sync settings and lease, the write-back queue

Revision ID: 0026
Revises: 0025
"""
from alembic import op
import sqlalchemy as sa


revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('google_sync_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('full', sa.Boolean(), nullable=False),
    sa.Column('dry_run', sa.Boolean(), nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=False),
    sa.Column('status', sa.Enum('running', 'done', 'failed', 'skipped', name='google_sync_run_status', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('job_id', sa.String(length=36), nullable=True),
    sa.Column('query', sa.String(length=120), nullable=True),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('pages', sa.Integer(), server_default='0', nullable=False),
    sa.Column('devices', sa.Integer(), server_default='0', nullable=False),
    sa.Column('created', sa.Integer(), server_default='0', nullable=False),
    sa.Column('updated', sa.Integer(), server_default='0', nullable=False),
    sa.Column('unchanged', sa.Integer(), server_default='0', nullable=False),
    sa.Column('removed', sa.Integer(), server_default='0', nullable=False),
    sa.Column('retries', sa.Integer(), server_default='0', nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('google_error', sa.Text(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_google_sync_runs_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_sync_runs'))
    )
    with op.batch_alter_table('google_sync_runs', schema=None) as batch_op:
        batch_op.create_index('ix_google_sync_runs_started_at', ['started_at'], unique=False)

    op.create_table('google_sync_state',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interval_minutes', sa.Integer(), server_default='60', nullable=False),
    sa.Column('write_back', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('write_back_changed_by_id', sa.Integer(), nullable=True),
    sa.Column('write_back_changed_at', sa.DateTime(), nullable=True),
    sa.Column('lease_holder', sa.String(length=120), nullable=True),
    sa.Column('lease_until', sa.DateTime(), nullable=True),
    sa.Column('last_success_at', sa.DateTime(), nullable=True),
    sa.Column('last_full_at', sa.DateTime(), nullable=True),
    sa.Column('last_run_at', sa.DateTime(), nullable=True),
    sa.Column('failing_since', sa.DateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['write_back_changed_by_id'], ['users.id'], name=op.f('fk_google_sync_state_write_back_changed_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_sync_state'))
    )

    op.create_table('google_write_backs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('device_id', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('params', sa.JSON(), nullable=True),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('status', sa.Enum('pending', 'done', 'failed', name='google_write_back_status', native_enum=False, create_constraint=True, length=7), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('sent_at', sa.DateTime(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_google_write_backs_asset_id_assets'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['users.id'], name=op.f('fk_google_write_backs_requested_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_google_write_backs'))
    )
    with op.batch_alter_table('google_write_backs', schema=None) as batch_op:
        batch_op.create_index('ix_google_write_backs_status', ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_google_write_backs_asset_id'), ['asset_id'], unique=False)


def downgrade():
    with op.batch_alter_table('google_write_backs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_google_write_backs_asset_id'))
        batch_op.drop_index('ix_google_write_backs_status')
    op.drop_table('google_write_backs')
    op.drop_table('google_sync_state')
    with op.batch_alter_table('google_sync_runs', schema=None) as batch_op:
        batch_op.drop_index('ix_google_sync_runs_started_at')
    op.drop_table('google_sync_runs')
