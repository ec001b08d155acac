"""The provenance field: its one schema, how it is built and sealed, and how it is read."""

__all__: list[str] = []
