"""Therapist profiles: who offers what, in which languages and formats."""
