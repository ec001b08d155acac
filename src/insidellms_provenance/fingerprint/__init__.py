"""Fingerprint a group's plugins: discovery, distributions, RECORD, sources, loading.

The in-host recording path: imports only the standard library, orjson and the field schema.
"""

__all__: list[str] = []
