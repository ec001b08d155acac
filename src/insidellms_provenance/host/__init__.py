"""Automatic embedding inside insideLLMs runs: observe plugin loading, embed before writing."""

__all__: list[str] = []
