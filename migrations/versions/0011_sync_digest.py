"""sync_events.digest (a replayed id must carry the same event); SQLite times written with a 3-digit year repaired

Revision ID: 0011
Revises: 0010
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('sync_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('digest', sa.String(length=32), nullable=True))
    bind = op.get_bind()
    if bind.dialect.name != 'sqlite':
        return
    # The bulk sync path once wrote years before 1000 without their leading zeros ("999-01-01 …"), which no
    # ISO reader accepts, so those rows broke every later read of them (backups included). Pad them.
    inspector = sa.inspect(bind)
    for table in inspector.get_table_names():
        for column in inspector.get_columns(table):
            if not isinstance(column['type'], sa.DateTime):
                continue
            name = column['name']
            for digits in (3, 2, 1):
                pattern = '[0-9]' * digits + '-*'
                bind.exec_driver_sql(
                    f'UPDATE "{table}" SET "{name}" = substr(\'000\', 1, {4 - digits}) || "{name}" '
                    f'WHERE "{name}" GLOB \'{pattern}\''
                )


def downgrade():
    with op.batch_alter_table('sync_events', schema=None) as batch_op:
        batch_op.drop_column('digest')
