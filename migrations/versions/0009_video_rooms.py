"""Video rooms: a therapist's own room, the room each online appointment uses, and the join
reminder

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27 11:30:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('therapist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_room', sa.String(length=500), nullable=False,
                                      server_default=''))
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.add_column(sa.Column('video_room', sa.String(length=500), nullable=False,
                                      server_default=''))
        batch_op.add_column(sa.Column('join_reminder_sent_at', sa.DateTime(timezone=True),
                                      nullable=True))


def downgrade():
    with op.batch_alter_table('appointment', schema=None) as batch_op:
        batch_op.drop_column('join_reminder_sent_at')
        batch_op.drop_column('video_room')
    with op.batch_alter_table('therapist', schema=None) as batch_op:
        batch_op.drop_column('video_room')
