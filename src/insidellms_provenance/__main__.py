"""``python -m insidellms_provenance``: the same CLI as the console script."""

from insidellms_provenance.cli._main import process_main

__all__: list[str] = []

raise SystemExit(process_main())
