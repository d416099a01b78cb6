"""Google Admin facts on assets, dashboard indexes, and import runs

Revision ID: 0005
Revises: 0004
"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('import_runs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('google_admin', 'snipeit', 'oneroster', name='import_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('state', sa.Enum('checked', 'applied', name='import_state', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('token', sa.String(length=32), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('applied_at', sa.DateTime(), nullable=True),
    sa.Column('content', sa.LargeBinary(), nullable=True),
    sa.Column('report', sa.JSON(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_import_runs_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_import_runs')),
    sa.UniqueConstraint('token', name=op.f('uq_import_runs_token'))
    )
    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_import_runs_created_by_id'), ['created_by_id'], unique=False)

    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.add_column(sa.Column('google_device_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('google_status', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('org_unit', sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column('last_sync_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('enrolled_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('google_recent_user', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('annotated_asset_id', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('annotated_location', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('annotated_user', sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column('google_aue_date', sa.Date(), nullable=True))
        batch_op.create_index('ix_assets_dashboard', ['campus_id', 'status', 'model_id', 'google_aue_date', 'last_seen_at', 'warranty_end'], unique=False)
        batch_op.create_index('ix_assets_campus_warranty', ['campus_id', 'warranty_end', 'status'], unique=False)
        batch_op.create_index('ix_assets_campus_room_seen', ['campus_id', 'current_room_id', 'status', 'last_seen_at'], unique=False)


def downgrade():
    with op.batch_alter_table('assets', schema=None) as batch_op:
        batch_op.drop_index('ix_assets_campus_room_seen')
        batch_op.drop_index('ix_assets_campus_warranty')
        batch_op.drop_index('ix_assets_dashboard')
        batch_op.drop_column('google_aue_date')
        batch_op.drop_column('annotated_user')
        batch_op.drop_column('annotated_location')
        batch_op.drop_column('annotated_asset_id')
        batch_op.drop_column('google_recent_user')
        batch_op.drop_column('enrolled_at')
        batch_op.drop_column('last_sync_at')
        batch_op.drop_column('org_unit')
        batch_op.drop_column('google_status')
        batch_op.drop_column('google_device_id')

    with op.batch_alter_table('import_runs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_import_runs_created_by_id'))

    op.drop_table('import_runs')
