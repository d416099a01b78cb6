"""roster_memberships_guardians: a person in several schools belongs to each; students' guardians from the roster

Revision ID: 0021
Revises: 0020
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('person_campuses',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_person_campuses_campus_id_campuses'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_person_campuses_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'campus_id', name=op.f('pk_person_campuses'))
    )
    with op.batch_alter_table('person_campuses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_person_campuses_campus_id'), ['campus_id'], unique=False)

    op.create_table('guardians',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('sourced_id', sa.String(length=64), nullable=False),
    sa.Column('name', sa.String(length=160), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('phone', sa.String(length=40), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('language', sa.String(length=35), nullable=True),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_guardians')),
    sa.UniqueConstraint('sourced_id', name=op.f('uq_guardians_sourced_id'))
    )
    op.create_table('guardian_links',
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_guardian_links_guardian_id_guardians'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_guardian_links_person_id_people'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('person_id', 'guardian_id', name=op.f('pk_guardian_links'))
    )
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_guardian_links_guardian_id'), ['guardian_id'], unique=False)


def downgrade():
    with op.batch_alter_table('guardian_links', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_guardian_links_guardian_id'))
    op.drop_table('guardian_links')
    op.drop_table('guardians')
    with op.batch_alter_table('person_campuses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_person_campuses_campus_id'))
    op.drop_table('person_campuses')
