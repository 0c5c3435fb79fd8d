"""Calendars: iTIP invites sent by email, each therapist's subscription feed out, and their
own calendars' busy times in (read through the guarded client in `fetch.py`)."""
