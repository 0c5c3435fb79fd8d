"""Therapist profiles and their settings pages: who offers what, in which languages and formats,
their hours, time off and calendars."""
