"""Open times: weekly hours, time off, busy times read from therapists' own calendars, and the
pure slot computation."""
