"""Site administration: users, organisations, memberships, tokens and the audit log, for site admins (through
the API) and for whoever runs ``hubstead admin`` on the server."""
