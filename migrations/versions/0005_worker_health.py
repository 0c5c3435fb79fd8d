"""Worker health: leases that name their worker, and a heartbeat per job

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 19:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('leased_by', sa.String(length=80), nullable=True))
        batch_op.add_column(sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True))
    op.execute("UPDATE outbox_message SET queued_at = created_at")
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.alter_column('queued_at', existing_type=sa.DateTime(timezone=True),
                              nullable=False)
    # Rows leased the old way (next_attempt_at pushed ahead) become due again at once.
    op.execute("UPDATE outbox_message SET next_attempt_at = created_at "
               "WHERE status = 'queued' AND attempts = 0")

    op.create_table('worker_job',
    sa.Column('name', sa.String(length=40), nullable=False),
    sa.Column('worker', sa.String(length=80), nullable=False),
    sa.Column('last_started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_ok_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.String(length=500), nullable=False),
    sa.Column('failures', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('name', name=op.f('pk_worker_job'))
    )


def downgrade():
    op.drop_table('worker_job')
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('queued_at')
        batch_op.drop_column('lease_until')
        batch_op.drop_column('leased_by')
