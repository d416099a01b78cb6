"""label_print_options: the Dymo 30252 stock, where a print starts on its first sheet, and the Code 128 option

Revision ID: 0019
Revises: 0018
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None

OLD_FORMATS = "format IN ('avery5160', 'avery22806', 'thermal')"
NEW_FORMATS = "format IN ('avery5160', 'avery22806', 'thermal', 'dymo30252')"


def upgrade():
    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('first_position', sa.Integer(), server_default='1', nullable=False))
        batch_op.add_column(sa.Column('code128', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.create_check_constraint(op.f('ck_label_prints_first_position_positive'), 'first_position >= 1')
        batch_op.drop_constraint(op.f('ck_label_prints_label_format'), type_='check')
        batch_op.create_check_constraint(op.f('ck_label_prints_label_format'), NEW_FORMATS)


def downgrade():
    # Prints on the Dymo 30252 stock have no older format to become; their records go with it.
    op.execute(
        "DELETE FROM label_print_items WHERE print_id IN (SELECT id FROM label_prints WHERE format = 'dymo30252')"
    )
    op.execute("DELETE FROM label_prints WHERE format = 'dymo30252'")
    with op.batch_alter_table('label_prints', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_label_prints_label_format'), type_='check')
        batch_op.create_check_constraint(op.f('ck_label_prints_label_format'), OLD_FORMATS)
        batch_op.drop_constraint(op.f('ck_label_prints_first_position_positive'), type_='check')
        batch_op.drop_column('code128')
        batch_op.drop_column('first_position')
