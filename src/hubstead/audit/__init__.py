"""The audit log: security-relevant events (tokens, visibility, deletions, memberships, gates, sign-ins)."""
