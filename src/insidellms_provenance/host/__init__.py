"""Automatic embedding inside insideLLMs runs: observe plugin loading, embed before writing."""
