"""kits: accessory kinds and the accessories issued with devices, acceptable-use agreements and their
acknowledgements, and the deployment and collection records of the year's two big days

Revision ID: 0025
Revises: 0024
"""
from alembic import op
import sqlalchemy as sa


revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('accessory_kinds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('tracking', sa.Enum('serial', 'issued', name='accessory_tracking', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('fee_reason', sa.String(length=200), nullable=True),
    sa.Column('standard', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('position', sa.Integer(), server_default='0', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_accessory_kinds_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accessory_kinds')),
    sa.UniqueConstraint('name', name=op.f('uq_accessory_kinds_name'))
    )
    op.create_table('agreements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('school_year', sa.String(length=7), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=160), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by_id'], ['users.id'], name=op.f('fk_agreements_created_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreements')),
    sa.UniqueConstraint('school_year', 'version', name=op.f('uq_agreements_school_year_version'))
    )
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreements_school_year'), ['school_year'], unique=False)

    op.create_table('agreement_acks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('agreement_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('signed_name', sa.String(length=160), nullable=True),
    sa.Column('signature_png', sa.LargeBinary(), nullable=True),
    sa.CheckConstraint('signed_name IS NOT NULL OR signature_png IS NOT NULL', name=op.f('ck_agreement_acks_signed_somehow')),
    sa.ForeignKeyConstraint(['agreement_id'], ['agreements.id'], name=op.f('fk_agreement_acks_agreement_id_agreements')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_agreement_acks_by_id_users')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_agreement_acks_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agreement_acks')),
    sa.UniqueConstraint('agreement_id', 'person_id', name=op.f('uq_agreement_acks_agreement_id_person_id'))
    )
    with op.batch_alter_table('agreement_acks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agreement_acks_person_id'), ['person_id'], unique=False)

    op.create_table('collections',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=True),
    sa.Column('assignment_id', sa.Integer(), nullable=True),
    sa.Column('cycle', sa.String(length=40), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('recorded_at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('condition', sa.Enum('good', 'fair', 'damaged', 'broken', name='collection_condition', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('note', sa.Text(), server_default='', nullable=False),
    sa.Column('held', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('station', sa.String(length=40), server_default='', nullable=False),
    sa.Column('receipt_token', sa.String(length=32), nullable=False),
    sa.Column('source_event_id', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_collections_asset_id_assets')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_collections_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_collections_by_id_users')),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_collections_campus_id_campuses')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_collections_person_id_people')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_collections_ticket_id_tickets')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_collections')),
    sa.UniqueConstraint('cycle', name=op.f('uq_collections_cycle')),
    sa.UniqueConstraint('receipt_token', name=op.f('uq_collections_receipt_token')),
    sa.UniqueConstraint('source_event_id', name=op.f('uq_collections_source_event_id'))
    )
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_collections_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collections_assignment_id'), ['assignment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collections_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_collections_campus_id'), ['campus_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_collections_person_id'), ['person_id'], unique=False)

    op.create_table('deployments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('person_id', sa.Integer(), nullable=False),
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('campus_id', sa.Integer(), nullable=False),
    sa.Column('ack_id', sa.Integer(), nullable=True),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('by_id', sa.Integer(), nullable=True),
    sa.Column('redeployed', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('station', sa.String(length=40), server_default='', nullable=False),
    sa.Column('receipt_token', sa.String(length=32), nullable=False),
    sa.ForeignKeyConstraint(['ack_id'], ['agreement_acks.id'], name=op.f('fk_deployments_ack_id_agreement_acks')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_deployments_asset_id_assets')),
    sa.ForeignKeyConstraint(['assignment_id'], ['assignments.id'], name=op.f('fk_deployments_assignment_id_assignments')),
    sa.ForeignKeyConstraint(['by_id'], ['users.id'], name=op.f('fk_deployments_by_id_users')),
    sa.ForeignKeyConstraint(['campus_id'], ['campuses.id'], name=op.f('fk_deployments_campus_id_campuses')),
    sa.ForeignKeyConstraint(['person_id'], ['people.id'], name=op.f('fk_deployments_person_id_people')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_deployments')),
    sa.UniqueConstraint('assignment_id', name=op.f('uq_deployments_assignment_id')),
    sa.UniqueConstraint('receipt_token', name=op.f('uq_deployments_receipt_token'))
    )
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_deployments_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_campus_id'), ['campus_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_deployments_person_id'), ['person_id'], unique=False)

    op.create_table('issued_accessories',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('kind_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=64), nullable=True),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('deployment_id', sa.Integer(), nullable=True),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.Column('outcome', sa.Enum('returned', 'missing', name='accessory_outcome', native_enum=False, create_constraint=True), nullable=True),
    sa.Column('collection_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_issued_accessories_asset_id_assets')),
    sa.ForeignKeyConstraint(['collection_id'], ['collections.id'], name=op.f('fk_issued_accessories_collection_id_collections')),
    sa.ForeignKeyConstraint(['deployment_id'], ['deployments.id'], name=op.f('fk_issued_accessories_deployment_id_deployments')),
    sa.ForeignKeyConstraint(['kind_id'], ['accessory_kinds.id'], name=op.f('fk_issued_accessories_kind_id_accessory_kinds')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_issued_accessories'))
    )
    with op.batch_alter_table('issued_accessories', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_issued_accessories_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_accessories_collection_id'), ['collection_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_accessories_deployment_id'), ['deployment_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_issued_accessories_kind_id'), ['kind_id'], unique=False)
        batch_op.create_index('uq_issued_accessories_open_kind', ['asset_id', 'kind_id'], unique=True, sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.create_index('uq_issued_accessories_open_serial', ['kind_id', 'serial'], unique=True, sqlite_where=sa.text('closed_at IS NULL AND serial IS NOT NULL'), postgresql_where=sa.text('closed_at IS NULL AND serial IS NOT NULL'))


def downgrade():
    with op.batch_alter_table('issued_accessories', schema=None) as batch_op:
        batch_op.drop_index('uq_issued_accessories_open_serial', sqlite_where=sa.text('closed_at IS NULL AND serial IS NOT NULL'), postgresql_where=sa.text('closed_at IS NULL AND serial IS NOT NULL'))
        batch_op.drop_index('uq_issued_accessories_open_kind', sqlite_where=sa.text('closed_at IS NULL'), postgresql_where=sa.text('closed_at IS NULL'))
        batch_op.drop_index(batch_op.f('ix_issued_accessories_kind_id'))
        batch_op.drop_index(batch_op.f('ix_issued_accessories_deployment_id'))
        batch_op.drop_index(batch_op.f('ix_issued_accessories_collection_id'))
        batch_op.drop_index(batch_op.f('ix_issued_accessories_asset_id'))

    op.drop_table('issued_accessories')
    with op.batch_alter_table('deployments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_deployments_person_id'))
        batch_op.drop_index(batch_op.f('ix_deployments_campus_id'))
        batch_op.drop_index(batch_op.f('ix_deployments_asset_id'))

    op.drop_table('deployments')
    with op.batch_alter_table('collections', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_collections_person_id'))
        batch_op.drop_index(batch_op.f('ix_collections_campus_id'))
        batch_op.drop_index(batch_op.f('ix_collections_at'))
        batch_op.drop_index(batch_op.f('ix_collections_assignment_id'))
        batch_op.drop_index(batch_op.f('ix_collections_asset_id'))

    op.drop_table('collections')
    with op.batch_alter_table('agreement_acks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreement_acks_person_id'))

    op.drop_table('agreement_acks')
    with op.batch_alter_table('agreements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agreements_school_year'))

    op.drop_table('agreements')
    op.drop_table('accessory_kinds')
