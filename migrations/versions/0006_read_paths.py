"""Indexes for the pages read most

The coming days across every therapist, and the moment each therapist's consultations last
changed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27 08:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_appointment_starts_at', 'appointment', ['starts_at'])
    op.create_index('ix_appointment_therapist_changed', 'appointment',
                    ['therapist_id', 'updated_at'])


def downgrade():
    op.drop_index('ix_appointment_therapist_changed', table_name='appointment')
    op.drop_index('ix_appointment_starts_at', table_name='appointment')
