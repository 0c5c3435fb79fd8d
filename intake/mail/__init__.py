"""Email: the transactional outbox, composition from templates, and delivery."""
