"""faq_overrides: bureau edits, withdrawals and merges of FAQ entries from the knowledge files

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 20:15:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('faq_overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('faq_id', sa.String(length=80), nullable=False),
    sa.Column('region_code', sa.String(length=6), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('answer', sa.Text(), nullable=True),
    sa.Column('paraphrases', sa.JSON(), nullable=True),
    sa.Column('merged_into', sa.String(length=80), nullable=True),
    sa.Column('moved', sa.JSON(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=100), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_by', sa.String(length=100), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('faq_overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_faq_overrides_faq_id'), ['faq_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_overrides_region_code'), ['region_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_faq_overrides_active'), ['active'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('faq_overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_faq_overrides_active'))
        batch_op.drop_index(batch_op.f('ix_faq_overrides_region_code'))
        batch_op.drop_index(batch_op.f('ix_faq_overrides_faq_id'))
    op.drop_table('faq_overrides')
