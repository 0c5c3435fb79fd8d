"""The waitlist: people who asked to hear of sooner times, and the freed times offered to them."""
