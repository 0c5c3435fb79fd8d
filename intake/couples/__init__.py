"""Couples as couples: the partner's own intake, a private safety screen, and their place
in the consultation."""
