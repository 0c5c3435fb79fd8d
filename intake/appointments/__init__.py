"""Appointments: holding a time, confirming it, and the pages around booking."""
