"""Pages of the website, one module per area."""
