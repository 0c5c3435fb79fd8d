"""The one kind of error a person is shown: plain words, and the form field they are about."""

from __future__ import annotations


class UserError(Exception):
    """A change that cannot be made. `message` is written for the person who asked; `field`
    names the form field at fault ("" when the whole form is)."""

    def __init__(self, message: str, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field
