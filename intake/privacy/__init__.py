"""Privacy over time: what is kept, for how long, and what is erased."""
