"""The ``hubstead`` command: serve, migrate, and admin commands scripts can drive."""
