"""Open times: weekly hours, time off, the window reads and the pure slot computation."""
