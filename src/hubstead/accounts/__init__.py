"""Users, organisations, memberships and access tokens; who may read and write what."""
