"""Repositories: naming, creation, commits, files, LFS objects and cards."""
