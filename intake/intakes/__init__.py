"""The public intake form: safety screening first, then what brings the person here."""
