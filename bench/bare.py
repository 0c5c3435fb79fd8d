"""The baseline: a bare Flask "hello" app, served with the same gunicorn settings as the app."""

from flask import Flask

app = Flask("bare")


@app.get("/")
def hello() -> str:
    """Return a greeting: the cheapest request Flask can answer."""
    return "Hello"
