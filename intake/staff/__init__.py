"""Staff: accounts and roles, sessions, the front desk, the audit trail."""
