"""Calendars: iTIP invites sent by email (and, later, subscription feeds)."""
