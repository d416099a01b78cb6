"""vendors: the district's list of warranty vendors (contact, portal, ship-to address), linked from claims and
batches; batches gain a carrier and campuses the address shipments leave from

The vendor names typed on claims and batches so far become vendor rows (one per name, compared without case or
surrounding spaces, spelt as most claims spelt it) and each claim and batch is linked to its row; the typed names
stay where they were.

Revision ID: 0018
Revises: 0017
"""
from collections import Counter
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
    # Plain ADD COLUMNs with the reference inline: SQLite's batch copy of these tables would have to drop tables
    # that other rows point at.
    for table in ('warranty_claims', 'shipping_batches'):
        op.add_column(table, sa.Column(
            'vendor_id', sa.Integer(), sa.ForeignKey('vendors.id', name=op.f(f'fk_{table}_vendor_id_vendors')),
            nullable=True,
        ), inline_references=True)
        op.create_index(op.f(f'ix_{table}_vendor_id'), table, ['vendor_id'], unique=False)
    op.add_column('shipping_batches', sa.Column('carrier', sa.String(length=60), server_default='', nullable=False))
    op.add_column('campuses', sa.Column('ship_address', sa.Text(), server_default='', nullable=False))
    _vendors_from_typed_names()


def _vendors_from_typed_names():
    """One vendor row per typed name, and every claim and batch linked to its row."""
    conn = op.get_bind()
    typed = conn.execute(sa.text(
        "SELECT vendor FROM warranty_claims UNION ALL SELECT vendor FROM shipping_batches"
    )).scalars().all()
    spellings: dict[str, Counter] = {}
    for value in typed:
        name = (value or '').strip()[:80]
        if name:
            spellings.setdefault(name.lower(), Counter())[name] += 1
    # The spelling used most often names the vendor; between equals, the first met.
    names = {key: counts.most_common(1)[0][0] for key, counts in spellings.items()}
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
    # The typed names stayed on claims and batches, so dropping the links loses no claim's vendor. A dropped column
    # takes its reference with it.
    with op.batch_alter_table('campuses', schema=None) as batch_op:
        batch_op.drop_column('ship_address')
    with op.batch_alter_table('shipping_batches', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_shipping_batches_vendor_id'))
        batch_op.drop_column('carrier')
        batch_op.drop_column('vendor_id')
    with op.batch_alter_table('warranty_claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_warranty_claims_vendor_id'))
        batch_op.drop_column('vendor_id')
    op.drop_table('vendors')
