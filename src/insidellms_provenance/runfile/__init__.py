"""Run files: the one reader of ``manifest.json`` and record files, and the one writer."""

__all__: list[str] = []
