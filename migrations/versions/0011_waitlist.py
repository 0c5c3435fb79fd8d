"""The waitlist: the people waiting for a sooner time, the times offered to them, and the spans
of a therapist's time that have just become free

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27 12:40:00

"""
from alembic import op
import sqlalchemy as sa

import intake.database


# revision identifiers, used by Alembic.
revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('freed_time',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('done_at', intake.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_freed_time_starts_before_ends')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_freed_time_therapist_id_therapist'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_freed_time'))
    )
    with op.batch_alter_table('freed_time', schema=None) as batch_op:
        batch_op.create_index('ix_freed_time_pending', ['done_at', 'id'], unique=False)

    op.create_table('waitlist_entry',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('intake_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('days', sa.JSON(), nullable=False),
    sa.Column('parts', sa.JSON(), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('until', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('confirmed_at', intake.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ended_at', intake.database.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('pending', 'waiting', 'booked', 'left', 'ended')", name=op.f('ck_waitlist_entry_known_status')),
    sa.ForeignKeyConstraint(['intake_id'], ['intake.id'], name=op.f('fk_waitlist_entry_intake_id_intake')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_waitlist_entry_therapist_id_therapist')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_entry'))
    )
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_entry_intake_id'), ['intake_id'], unique=False)
        batch_op.create_index('ix_waitlist_entry_status_created', ['status', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_waitlist_entry_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('waitlist_offer',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.Integer(), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=False),
    sa.Column('starts_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', intake.database.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('ended_at', intake.database.UTCDateTime(timezone=True), nullable=True),
    sa.Column('appointment_id', sa.Integer(), nullable=True),
    sa.CheckConstraint('starts_at < ends_at', name=op.f('ck_waitlist_offer_starts_before_ends')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointment.id'], name=op.f('fk_waitlist_offer_appointment_id_appointment')),
    sa.ForeignKeyConstraint(['created_by'], ['staff_user.id'], name=op.f('fk_waitlist_offer_created_by_staff_user')),
    sa.ForeignKeyConstraint(['entry_id'], ['waitlist_entry.id'], name=op.f('fk_waitlist_offer_entry_id_waitlist_entry')),
    sa.ForeignKeyConstraint(['therapist_id'], ['therapist.id'], name=op.f('fk_waitlist_offer_therapist_id_therapist')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_waitlist_offer')),
    sa.UniqueConstraint('entry_id', 'therapist_id', 'starts_at', name='uq_waitlist_offer_once')
    )
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_waitlist_offer_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_waitlist_offer_status', ['status'], unique=False)
        batch_op.create_index('ix_waitlist_offer_time', ['therapist_id', 'starts_at'], unique=False)



def downgrade():
    with op.batch_alter_table('waitlist_offer', schema=None) as batch_op:
        batch_op.drop_index('ix_waitlist_offer_time')
        batch_op.drop_index('ix_waitlist_offer_status')
        batch_op.drop_index(batch_op.f('ix_waitlist_offer_entry_id'))

    op.drop_table('waitlist_offer')
    with op.batch_alter_table('waitlist_entry', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_therapist_id'))
        batch_op.drop_index('ix_waitlist_entry_status_created')
        batch_op.drop_index(batch_op.f('ix_waitlist_entry_intake_id'))

    op.drop_table('waitlist_entry')
    with op.batch_alter_table('freed_time', schema=None) as batch_op:
        batch_op.drop_index('ix_freed_time_pending')

    op.drop_table('freed_time')
