"""The command-line interface: argument parsing in ``main``, one renderer per command."""

__all__: list[str] = []
