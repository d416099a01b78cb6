"""google expected users: devices marked as fine to be used by someone other than their assignee

Revision ID: 0028
Revises: 0027
"""
from alembic import op
import sqlalchemy as sa


revision = '0028'
down_revision = '0027'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('google_expected_users',
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('recent_user', sa.String(length=254), nullable=False),
    sa.Column('reason', sa.String(length=300), nullable=False),
    sa.Column('marked_by_id', sa.Integer(), nullable=True),
    sa.Column('marked_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_google_expected_users_asset_id_assets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['marked_by_id'], ['users.id'], name=op.f('fk_google_expected_users_marked_by_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('asset_id', name=op.f('pk_google_expected_users'))
    )


def downgrade():
    op.drop_table('google_expected_users')
