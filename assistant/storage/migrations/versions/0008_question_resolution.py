"""questions: the resolved question, the choices offered and the one taken

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27 17:20:00
"""

from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('questions') as batch:
        batch.add_column(sa.Column('resolved', sa.Text(), nullable=True))
        batch.add_column(sa.Column('offered', sa.JSON(), nullable=True))
        batch.add_column(sa.Column('chosen', sa.String(length=120), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('questions') as batch:
        batch.drop_column('chosen')
        batch.drop_column('offered')
        batch.drop_column('resolved')
