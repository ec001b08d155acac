"""``python -m insidellms_provenance``: the same CLI as the console script."""

from insidellms_provenance.cli._main import main

__all__: list[str] = []

raise SystemExit(main())
