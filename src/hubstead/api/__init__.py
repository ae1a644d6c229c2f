"""The Hugging Face-compatible HTTP API: thin routes, wire payloads, dependencies and the error mapper."""
