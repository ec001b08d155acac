"""``python -m insidellms_provenance``: the same CLI as the console script."""

from insidellms_provenance.cli.main import main

raise SystemExit(main())
