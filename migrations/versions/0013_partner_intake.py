"""The partner's own intake: a couple's second person, with their answers and their place in
the consultation; who of a couple asked for a change

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-27 16:00:00

"""
import sqlalchemy as sa
from alembic import op

from intake.database import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'partner_intake',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('intake_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('invited_at', UTCDateTime(timezone=True), nullable=False),
        sa.Column('answer_by', UTCDateTime(timezone=True), nullable=False),
        sa.Column('name', sa.String(length=120), nullable=False),
        sa.Column('email', sa.String(length=254), nullable=False),
        sa.Column('phone', sa.String(length=40), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('discreet', sa.Boolean(), nullable=False),
        sa.Column('consent_contact', sa.Boolean(), nullable=False),
        sa.Column('consent_privacy', sa.Boolean(), nullable=False),
        sa.Column('safety', sa.String(length=16), nullable=False),
        sa.Column('feels_safe', sa.String(length=16), nullable=False),
        sa.Column('concerns', sa.JSON(), nullable=False),
        sa.Column('story', sa.Text(), nullable=False),
        sa.Column('answered_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('joined_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('first_told_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_at', UTCDateTime(timezone=True), nullable=True),
        sa.Column('acknowledged_by', sa.Integer(), nullable=True),
        sa.CheckConstraint(
            "status IN ('invited', 'joined', 'flagged', 'expired', 'bounced')",
            name=op.f('ck_partner_intake_known_status')),
        sa.ForeignKeyConstraint(['intake_id'], ['intake.id'],
                                name=op.f('fk_partner_intake_intake_id_intake')),
        sa.ForeignKeyConstraint(['acknowledged_by'], ['staff_user.id'],
                                name=op.f('fk_partner_intake_acknowledged_by_staff_user')),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_partner_intake')),
        sa.UniqueConstraint('intake_id', name=op.f('uq_partner_intake_intake_id')),
    )
    op.create_index('ix_partner_intake_status_answer_by', 'partner_intake',
                    ['status', 'answer_by'], unique=False)
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('change_requested_by', sa.String(length=16),
                                      server_default='', nullable=False))


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('change_requested_by')
    op.drop_index('ix_partner_intake_status_answer_by', table_name='partner_intake')
    op.drop_table('partner_intake')
