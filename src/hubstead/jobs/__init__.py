"""Background jobs, one part of the hub for every feature that works after a request: a jobs table claimed by
workers (``DbJobQueue``), a registry of handlers by kind (``tasks``) and the worker loop (``worker``)."""
