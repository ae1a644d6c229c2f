"""The pure Xet protocol core: hashes, xorbs, shards and content-defined chunking (no I/O)."""
