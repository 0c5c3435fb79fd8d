"""An index on when appointments were booked: the daily booking caps read one day of them

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27 12:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointment_created_at', 'appointment', ['created_at'], unique=False)


def downgrade():
    op.drop_index('ix_appointment_created_at', table_name='appointment')
