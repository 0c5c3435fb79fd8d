"""Intake and consultation booking for psychotherapy practices."""

from __future__ import annotations

from pathlib import Path

from flask import Flask

from . import config as settings
from .web import init_app

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict | None = None) -> Flask:
    """Return the assembled application; `config` overrides settings (tests use it)."""
    app = Flask(
        __name__,
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
        instance_path=str(ROOT / "instance"),
    )
    app.config.from_mapping(settings.load(app.instance_path))
    if config:
        app.config.from_mapping(config)
    if problems := settings.unsafe_for_production(app.config):
        raise RuntimeError("Refusing to start: " + "; ".join(problems))
    Path(app.instance_path).mkdir(mode=0o700, parents=True, exist_ok=True)

    init_app(app)
    return app
