"""Retention: when an intake's answers, and a delivered email's body, were erased

Revision ID: 0014
Revises: 0013
Create Date: 2026-11-27 16:50:00

"""
import sqlalchemy as sa
from alembic import op

from intake.database import UTCDateTime

# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purged_at', UTCDateTime(timezone=True), nullable=True))
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_purged_at', UTCDateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('outbox_message', schema=None) as batch_op:
        batch_op.drop_column('body_purged_at')
    with op.batch_alter_table('intake', schema=None) as batch_op:
        batch_op.drop_column('purged_at')
