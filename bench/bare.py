"""The baseline: a bare Flask "hello" app, served with the same gunicorn settings as the app.

`/read` answers after one `SELECT 1` through a SQLAlchemy connection pool on DATABASE_URL (as
the app is configured): the most any page that reads the database at all can reach.
"""

import os

import sqlalchemy as sa
from flask import Flask

app = Flask("bare")
_engines: dict[str, sa.Engine] = {}


@app.get("/")
def hello() -> str:
    """Return a greeting: the cheapest request Flask can answer."""
    return "Hello"


@app.get("/read")
def read() -> str:
    """Return a greeting after one read: the cheapest request that asks the database."""
    url = os.environ["DATABASE_URL"]
    if url not in _engines:  # made in the worker process, after gunicorn forks
        _engines[url] = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with _engines[url].connect() as connection:
        connection.execute(sa.text("SELECT 1")).scalar()
    return "Hello"
