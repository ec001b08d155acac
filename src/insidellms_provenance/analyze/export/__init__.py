"""Exports of a run's plugin distributions to the standards: PEP 751, CycloneDX, in-toto.

Each module builds one format from the run's field and its wheel matches
(:mod:`insidellms_provenance.analyze._reproduce`); ``docs/export.md`` describes them.
"""

__all__: list[str] = []
