"""Bare git repositories: read trees and blobs, write commits, move refs with compare-and-swap."""

from hubstead.gitstore.store import Change, CommitMeta, FileDiff, GitRepo, GitStore, RefSet, TreeEntry

__all__ = ["Change", "CommitMeta", "FileDiff", "GitRepo", "GitStore", "RefSet", "TreeEntry"]
