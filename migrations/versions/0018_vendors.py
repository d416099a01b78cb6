"""vendors: the district's list of warranty vendors (contact, portal, ship-to address), linked from claims and
batches; batches gain a carrier and campuses the address shipments leave from

The vendor names typed on claims and batches so far become vendor rows (one per name, compared without case or
surrounding spaces) and each claim and batch is linked to its row; the typed names stay where they were.

Revision ID: 0018
Revises: 0017
"""
from datetime import datetime, timezone

from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vendors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('contact', sa.String(length=200), server_default='', nullable=False),
    sa.Column('portal_url', sa.String(length=300), server_default='', nullable=False),
    sa.Column('ship_to', sa.Text(), server_default='', nullable=False),
    sa.Column('active', sa.Boolean(), server_default=sa.true(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint('length(name) > 0', name=op.f('ck_vendors_name_not_empty')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vendors')),
    sa.UniqueConstraint('name', name=op.f('uq_vendors_name'))
    )
    with op.batch_alter_table('warranty_claims', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_warranty_claims_vendor_id'), ['vendor_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_warranty_claims_vendor_id_vendors'), 'vendors', ['vendor_id'], ['id'])
    with op.batch_alter_table('shipping_batches', schema=None) as batch_op:
        batch_op.add_column(sa.Column('vendor_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('carrier', sa.String(length=60), server_default='', nullable=False))
        batch_op.create_index(batch_op.f('ix_shipping_batches_vendor_id'), ['vendor_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_shipping_batches_vendor_id_vendors'), 'vendors', ['vendor_id'], ['id'])
    with op.batch_alter_table('campuses', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ship_address', sa.Text(), server_default='', nullable=False))
    _vendors_from_typed_names()


def _vendors_from_typed_names():
    """One vendor row per typed name (first spelling met wins), and every claim and batch linked to its row."""
    conn = op.get_bind()
    typed = conn.execute(sa.text(
        "SELECT vendor FROM warranty_claims UNION ALL SELECT vendor FROM shipping_batches"
    )).scalars().all()
    names: dict[str, str] = {}
    for value in typed:
        name = (value or '').strip()[:80]
        if name:
            names.setdefault(name.lower(), name)
    vendors = sa.table(
        'vendors', sa.column('name', sa.String), sa.column('active', sa.Boolean), sa.column('created_at', sa.DateTime)
    )
    if names:
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        op.bulk_insert(vendors, [{'name': n, 'active': True, 'created_at': now} for n in sorted(names.values())])
    for table in ('warranty_claims', 'shipping_batches'):
        conn.execute(sa.text(
            f"UPDATE {table} SET vendor_id = (SELECT v.id FROM vendors v WHERE lower(v.name) = lower(trim({table}.vendor)))"
            f" WHERE vendor_id IS NULL"
        ))


def downgrade():
    # The typed names stayed on claims and batches, so dropping the links loses no claim's vendor.
    with op.batch_alter_table('campuses', schema=None) as batch_op:
        batch_op.drop_column('ship_address')
    with op.batch_alter_table('shipping_batches', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_shipping_batches_vendor_id_vendors'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_shipping_batches_vendor_id'))
        batch_op.drop_column('carrier')
        batch_op.drop_column('vendor_id')
    with op.batch_alter_table('warranty_claims', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_warranty_claims_vendor_id_vendors'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_warranty_claims_vendor_id'))
        batch_op.drop_column('vendor_id')
    op.drop_table('vendors')
