"""tags, labels and tickets: label print records, tickets with comments, photos and status history

Revision ID: 0003
Revises: 0002
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('label_prints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('format', sa.Enum('avery5160', 'avery22806', 'thermal', name='label_format', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.CheckConstraint('count > 0', name=op.f('ck_label_prints_count_positive')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_label_prints_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_prints'))
    )
    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_prints_at'), ['at'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_prints_user_id'), ['user_id'], unique=False)

    op.create_table('label_print_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('print_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=True),
    sa.Column('room_id', sa.Integer(), nullable=True),
    sa.Column('tag_code', sa.String(length=16), nullable=False),
    sa.CheckConstraint('(asset_id IS NULL) <> (room_id IS NULL)', name=op.f('ck_label_print_items_asset_xor_room')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_label_print_items_asset_id_assets')),
    sa.ForeignKeyConstraint(['print_id'], ['label_prints.id'], name=op.f('fk_label_print_items_print_id_label_prints'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['room_id'], ['rooms.id'], name=op.f('fk_label_print_items_room_id_rooms')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_print_items'))
    )
    with op.batch_alter_table('label_print_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_label_print_items_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_print_items_print_id'), ['print_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_print_items_room_id'), ['room_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_label_print_items_tag_code'), ['tag_code'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.Integer(), nullable=False),
    sa.Column('source', sa.Enum('student_report', 'staff', name='ticket_source', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('category', sa.Enum('cracked_screen', 'keyboard_trackpad', 'wont_charge', 'wont_turn_on', 'liquid', 'missing_keys', 'camera_sound', 'other', name='ticket_category', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('reporter_name', sa.String(length=160), nullable=True),
    sa.Column('reporter_student_id', sa.String(length=64), nullable=True),
    sa.Column('reporter_email', sa.String(length=254), nullable=True),
    sa.Column('status', sa.Enum('new', 'triaged', 'in_repair', 'waiting_parts', 'warranty_claim', 'resolved', 'closed', name='ticket_status', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('assignee_id', sa.Integer(), nullable=True),
    sa.Column('opened_by_id', sa.Integer(), nullable=True),
    sa.Column('status_token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('closed_at', sa.DateTime(), nullable=True),
    sa.CheckConstraint('length(description) > 0', name=op.f('ck_tickets_description_not_empty')),
    sa.ForeignKeyConstraint(['asset_id'], ['assets.id'], name=op.f('fk_tickets_asset_id_assets')),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_tickets_assignee_id_users')),
    sa.ForeignKeyConstraint(['opened_by_id'], ['users.id'], name=op.f('fk_tickets_opened_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets')),
    sa.UniqueConstraint('status_token_hash', name=op.f('uq_tickets_status_token_hash'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_tickets_asset_id'), ['asset_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_tickets_assignee_id'), ['assignee_id'], unique=False)
        batch_op.create_index('ix_tickets_status_created', ['status', 'created_at'], unique=False)

    op.create_table('ticket_comments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('length(body) > 0', name=op.f('ck_ticket_comments_body_not_empty')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_ticket_comments_author_id_users')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_comments_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_comments'))
    )
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_comments_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=True),
    sa.Column('kind', sa.Enum('opened', 'status', 'assigned', name='ticket_event_kind', native_enum=False, create_constraint=True), nullable=False),
    sa.Column('from_value', sa.String(length=160), nullable=True),
    sa.Column('to_value', sa.String(length=160), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_ticket_events_user_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)

    op.create_table('ticket_photos',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('content', sa.LargeBinary(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=False),
    sa.Column('height', sa.Integer(), nullable=False),
    sa.Column('byte_size', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('width > 0 AND height > 0', name=op.f('ck_ticket_photos_dimensions_positive')),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_photos_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_photos'))
    )
    with op.batch_alter_table('ticket_photos', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_photos_ticket_id'), ['ticket_id'], unique=False)


def downgrade():
    with op.batch_alter_table('ticket_photos', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_photos_ticket_id'))

    op.drop_table('ticket_photos')
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('ticket_comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_comments_ticket_id'))

    op.drop_table('ticket_comments')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_status_created')
        batch_op.drop_index(batch_op.f('ix_tickets_assignee_id'))
        batch_op.drop_index(batch_op.f('ix_tickets_asset_id'))

    op.drop_table('tickets')
    with op.batch_alter_table('label_print_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_print_items_tag_code'))
        batch_op.drop_index(batch_op.f('ix_label_print_items_room_id'))
        batch_op.drop_index(batch_op.f('ix_label_print_items_print_id'))
        batch_op.drop_index(batch_op.f('ix_label_print_items_asset_id'))

    op.drop_table('label_print_items')
    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_label_prints_user_id'))
        batch_op.drop_index(batch_op.f('ix_label_prints_at'))

    op.drop_table('label_prints')
