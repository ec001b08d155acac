"""What this process saw plugins do: the package's one piece of global mutable state."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from insidellms_provenance.field import schema
from insidellms_provenance.field.schema import (
    REGISTRY_KINDS,
    Conflict,
    PluginObservation,
    Provenance,
)

if TYPE_CHECKING:
    from importlib import metadata

    from insidellms_provenance.fingerprint._recorder import Installed

__all__ = ["HOST_REGISTRIES", "OBSERVER", "Observer", "RegisterCall"]

HOST_REGISTRIES: Final[dict[str, str]] = {
    kind: f"{kind.removesuffix('s')}_registry" for kind in REGISTRY_KINDS
}
"""The attribute of ``insideLLMs.registry`` holding each kind's registry."""

RegisterCall = tuple[str, str, bool, bool]  # kind, key, overwrite, key existed before


class Observer:
    """Everything the hook keeps for one host run (STYLE rule 6: the one global).

    Registrations and conflicts per entry point, in load order; who owns each registry
    key; what the hook has warned about; and, computed once per run, the group's entry
    points, what is on disk of their distributions (read in ``register()``, before the
    host imports any other plugin) and the field.
    """

    def __init__(self) -> None:
        self.observations: dict[tuple[str, str], PluginObservation] = {}
        self.conflicts: list[Conflict] = []
        self.owners: dict[tuple[str, str], str] = {}
        self.builtins: set[tuple[str, str]] = set()
        self.warned: set[str] = set()  # what about: each is warned of once per run
        self.entry_points: list[metadata.EntryPoint] | None = None
        # Each entry point's module and attribute path (``plugin._entry_point_of``).
        self.targets: list[tuple[str, list[str], metadata.EntryPoint]] | None = None
        self.cursor = 0  # where in ``targets`` the next plugin called is looked for first
        self.on_disk: Installed | None = None
        self.field: Provenance | None = None

    def seed_builtins(self, keys: dict[str, list[str]]) -> None:
        """Keys registered before any plugin ran belong to the host."""
        for kind, names in keys.items():
            for name in names:
                self.owners.setdefault((kind, name), "builtin")
                self.builtins.add((kind, name))

    def note(
        self,
        entry_point: tuple[str, str],
        calls: list[RegisterCall],
        error: BaseException | None,
    ) -> None:
        """Record one plugin's registration call and what it did to the registries."""
        name = entry_point[0]
        added: dict[str, list[str]] = {kind: [] for kind in REGISTRY_KINDS}
        replaced: dict[str, list[str]] = {kind: [] for kind in REGISTRY_KINDS}
        for index, (kind, key, overwrite, existed) in enumerate(calls):
            owner = self.owners.get((kind, key))
            raised_here = error is not None and index == len(calls) - 1
            if existed and owner is not None and owner != name and (overwrite or raised_here):
                # The later plugin silently replaced the key, or was refused because of it.
                self.conflicts.append(
                    schema.conflict(
                        kind=kind,
                        key=key,
                        plugins=(owner, name),
                        outcome="overwritten" if overwrite else "failed",
                        winner=name if overwrite else owner,
                    )
                )
                if overwrite:
                    replaced[kind].append(key)
            if not raised_here:
                self.owners[(kind, key)] = name
                if not existed:
                    added[kind].append(key)
        if error is None:
            load = schema.load_outcome(status="loaded")
        else:
            from insidellms_provenance.fingerprint._loader import describe_error

            error_type, message = describe_error(error)
            load = schema.load_outcome(
                status="failed", error_type=error_type, error_message=message
            )
        self.observations[entry_point] = schema.observation(
            load=load,
            registered=schema.registry_keys(**added),
            replaced=schema.registry_keys(**replaced),
        )


OBSERVER = Observer()
