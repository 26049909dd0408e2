"""questions.kiosk_id: kiosks are identified by id, not by their (non-unique) name

Revision ID: 0006
Revises: 0004
Create Date: 2026-11-27 17:00:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('questions') as batch:
        batch.add_column(sa.Column('kiosk_id', sa.Integer(), nullable=True))
        batch.create_index('ix_questions_kiosk_id', ['kiosk_id'])
        batch.create_foreign_key('fk_questions_kiosk_id_kiosks', 'kiosks', ['kiosk_id'], ['id'])


def downgrade() -> None:
    with op.batch_alter_table('questions') as batch:
        batch.drop_constraint('fk_questions_kiosk_id_kiosks', type_='foreignkey')
        batch.drop_index('ix_questions_kiosk_id')
        batch.drop_column('kiosk_id')
