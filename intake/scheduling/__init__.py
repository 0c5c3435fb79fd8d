"""Open times: weekly hours, time off and the pure slot computation."""
