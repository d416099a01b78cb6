"""loans: the loaner pool's checkouts (one open loan per asset), and when each campus's school day ends

Revision ID: 0004
Revises: 0003
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('loans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('checked_out_at', sa.DateTime(), nullable=False),
    sa.Column('checked_out_by_id', sa.Integer(), nullable=True),
    sa.Column('due_at', sa.DateTime(), nullable=False),
    sa.Column('returned_at', sa.DateTime(), nullable=True),
    sa.Column('returned_by_id', sa.Integer(), nullable=True),
    sa.Column('return_condition', sa.Enum('good', 'fair', 'damaged', 'broken', name='loan_return_condition', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('source_event_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_loans_asset_id_assets')),
    sa.ForeignKeyConstraint(['checked_out_by_id'], ['users.id'], name=op.f('fk_loans_checked_out_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_loans_person_id_people')),
    sa.ForeignKeyConstraint(['returned_by_id'], ['users.id'], name=op.f('fk_loans_returned_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_loans')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_loans_source_event_id'))
    )
    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_loans_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_due_at'), ['due_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_loans_person_id'), ['person_id'], unique=False)
        batch_op.create_index('uq_loans_open_asset', ['asset_id'], unique=True, sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))

    with op.batch_alter_table('campuses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('day_ends_at', sa.Time(), server_default='15:30:00', nullable=False))
        batch_op.add_column(sa.Column('timezone', sa.String(length=64), server_default='America/Los_Angeles', nullable=False))


def downgrade():
    with op.batch_alter_table('campuses', schema=None) as batch_op:
        batch_op.drop_column('timezone')
        batch_op.drop_column('day_ends_at')

    with op.batch_alter_table('loans', schema=None) as batch_op:
        batch_op.drop_index('uq_loans_open_asset', sqlite_where=sa.text('returned_at IS NULL'), postgresql_where=sa.text('returned_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_loans_person_id'))
        batch_op.drop_index(batch_op.f('ix_loans_due_at'))
        batch_op.drop_index(batch_op.f('ix_loans_asset_id'))

    op.drop_table('loans')
