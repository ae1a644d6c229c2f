"""Database adapter: engine, sessions, the declarative base, portable types and migrations."""
