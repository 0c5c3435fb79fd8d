"""A schedule version per therapist, set afresh by the database on every change to their times

The version changes whenever anything that decides a therapist's open times (or their feed)
changes, so open times can be remembered and never shown stale.

Each change sets a new random 62-bit number rather than adding one: a number is never seen again
after a rolled-back change or a restored backup, so nothing remembered under it can come back.
SQLite rebuilds a table without its triggers: a later migration that rebuilds a watched table
must create them again (tests/test_read_paths.py checks they are all there).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27 08:40:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

# The tables whose rows decide a therapist's open times, and the columns that matter in each.
WATCHED = {
    'appointment': ('therapist_id', 'status', 'starts_at', 'ends_at', 'sequence'),
    'appointment_proposal': ('therapist_id', 'status', 'starts_at', 'ends_at'),
    'time_off': ('therapist_id', 'starts_at', 'ends_at'),
    'busy_interval': ('therapist_id', 'starts_at', 'ends_at'),
    'weekly_hours': ('therapist_id', 'weekday', 'starts', 'ends'),
}
BUMP = ("UPDATE therapist SET schedule_version = (random() & 4611686018427387903) "
        "WHERE id = {row}.therapist_id")


FRESH_PG = "floor(random() * 4611686018427387904)::bigint"


def upgrade():
    with op.batch_alter_table('therapist', schema=None) as batch_op:
        batch_op.add_column(sa.Column('schedule_version', sa.BigInteger(), nullable=False,
                                      server_default='0'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("""
            CREATE FUNCTION bump_schedule_version() RETURNS trigger AS $$
            BEGIN
              IF TG_OP <> 'INSERT' THEN
                UPDATE therapist SET schedule_version = {fresh}
                 WHERE id = OLD.therapist_id;
              END IF;
              IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE'
                                      AND NEW.therapist_id IS DISTINCT FROM OLD.therapist_id) THEN
                UPDATE therapist SET schedule_version = {fresh}
                 WHERE id = NEW.therapist_id;
              END IF;
              RETURN NULL;
            END $$ LANGUAGE plpgsql""".replace("{fresh}", FRESH_PG))
        for table, columns in WATCHED.items():
            op.execute(f"CREATE TRIGGER {table}_schedule AFTER INSERT OR DELETE OR UPDATE OF "
                       f"{', '.join(columns)} ON {table} FOR EACH ROW "
                       f"EXECUTE FUNCTION bump_schedule_version()")
        return
    for table, columns in WATCHED.items():
        op.execute(f"CREATE TRIGGER {table}_schedule_insert AFTER INSERT ON {table} "
                   f"BEGIN {BUMP.format(row='NEW')}; END")
        op.execute(f"CREATE TRIGGER {table}_schedule_delete AFTER DELETE ON {table} "
                   f"BEGIN {BUMP.format(row='OLD')}; END")
        op.execute(f"CREATE TRIGGER {table}_schedule_update AFTER UPDATE OF "
                   f"{', '.join(columns)} ON {table} "
                   f"BEGIN {BUMP.format(row='OLD')}; "
                   f"{BUMP.format(row='NEW')} AND NEW.therapist_id IS NOT OLD.therapist_id; END")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_schedule ON {table}")
        op.execute("DROP FUNCTION bump_schedule_version()")
    else:
        for table in WATCHED:
            for event in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER {table}_schedule_{event}")
    with op.batch_alter_table('therapist', schema=None) as batch_op:
        batch_op.drop_column('schedule_version')
