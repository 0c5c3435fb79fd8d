"""Calendars: iTIP invites sent by email, and each therapist's subscription feed."""
