"""record_views: who opened or exported a person's record, and when (student privacy)

Revision ID: 0010
Revises: 0009
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('record_views',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('what', sa.String(length=16), nullable=False),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_record_views_person_id_people')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_record_views_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_record_views'))
    )
    with op.batch_alter_table('record_views', schema=None) as batch_op:
        batch_op.create_index('ix_record_views_person_at', ['person_id', 'at'], unique=False)
        batch_op.create_index(batch_op.f('ix_record_views_user_id'), ['user_id'], unique=False)



def downgrade():
    with op.batch_alter_table('record_views', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_record_views_user_id'))
        batch_op.drop_index('ix_record_views_person_at')

    op.drop_table('record_views')
