"""An index on an intake's consultations by start: its pages read the one it holds to come,
however long its history

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27 14:50:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointment_intake_starts', 'appointment', ['intake_id', 'starts_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_appointment_intake_starts', table_name='appointment')
