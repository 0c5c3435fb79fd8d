"""Staff: accounts and roles, sessions, the front desk, the week grid and the admin pages."""
