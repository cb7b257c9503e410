"""Kennis: a self-hosted wiki and knowledge base on git."""
