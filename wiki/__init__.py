"""Kennis: a self-hosted wiki and knowledge base on git."""

# The one place the version is written: pyproject.toml reads it (`dynamic`), `wiki --version`
# and the admins' footer show it, and backups record it.
__version__ = "0.1.0"
