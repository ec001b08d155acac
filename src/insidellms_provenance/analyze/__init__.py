"""What readers do with fields: diff, verify, check and audit."""

__all__: list[str] = []
