"""Discussions and pull requests on repos, as huggingface.co's community tab has them."""
