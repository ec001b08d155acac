"""Build small, real, spec-compliant wheels deterministically (no build backend needed)."""

from __future__ import annotations

import base64
import hashlib
import re
import zipfile
from pathlib import Path

import attrs

_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


def _record_hash(data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=")
    return f"sha256={digest.decode()}"


def _snake(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


@attrs.frozen(kw_only=True)
class WheelSpec:
    """What goes into a wheel: package files, entry points, scripts and data files."""

    name: str
    version: str
    files: dict[str, bytes]
    entry_points: dict[str, dict[str, str]] = attrs.field(factory=dict)
    scripts: dict[str, bytes] = attrs.field(factory=dict)
    data: dict[str, bytes] = attrs.field(factory=dict)
    requires_dist: tuple[str, ...] = ()
    provides_extra: tuple[str, ...] = ()
    headers: dict[str, bytes] = attrs.field(factory=dict)
    # Archive paths whose RECORD row claims the hash of other bytes (a wrong RECORD).
    wrong_record: tuple[str, ...] = ()
    # Whether `.data/scripts` files are executable (0755) in the archive, as build
    # backends write them; installers then keep the mode rather than set it (uv's
    # symlink link mode links such a script into its cache).
    executable_scripts: bool = False

    @property
    def dist_info(self) -> str:
        return f"{_snake(self.name)}-{self.version}.dist-info"

    @property
    def filename(self) -> str:
        return f"{_snake(self.name)}-{self.version}-py3-none-any.whl"

    @property
    def data_dir(self) -> str:
        return f"{_snake(self.name)}-{self.version}.data"

    def members(self) -> dict[str, bytes]:
        """Every file of the wheel except RECORD, by archive path."""
        data_dir = self.data_dir
        members = dict(self.files)
        members |= {f"{data_dir}/scripts/{n}": b for n, b in self.scripts.items()}
        members |= {f"{data_dir}/data/{n}": b for n, b in self.data.items()}
        members |= {f"{data_dir}/headers/{n}": b for n, b in self.headers.items()}
        metadata = f"Metadata-Version: 2.1\nName: {self.name}\nVersion: {self.version}\n"
        metadata += "".join(f"Provides-Extra: {extra}\n" for extra in self.provides_extra)
        metadata += "".join(f"Requires-Dist: {requirement}\n" for requirement in self.requires_dist)
        members[f"{self.dist_info}/METADATA"] = metadata.encode()
        members[f"{self.dist_info}/WHEEL"] = (
            b"Wheel-Version: 1.0\nGenerator: tests\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        )
        if self.entry_points:
            text = "".join(
                f"[{group}]\n" + "".join(f"{k} = {v}\n" for k, v in sorted(eps.items())) + "\n"
                for group, eps in sorted(self.entry_points.items())
            )
            members[f"{self.dist_info}/entry_points.txt"] = text.encode()
        return members

    def with_changed_byte(self, path: str) -> WheelSpec:
        """The same wheel with the last byte of ``path`` changed."""
        content = self.files[path]
        changed = content[:-1] + bytes([(content[-1] + 1) % 256]) if content else b"\x00"
        return attrs.evolve(self, files={**self.files, path: changed})


def build_wheel(spec: WheelSpec, directory: Path, compression: int = zipfile.ZIP_DEFLATED) -> Path:
    """Write ``spec`` as a wheel in ``directory``; identical specs give identical bytes.

    ``ZIP_STORED`` makes the file's bytes independent of the zlib build too.
    """
    directory.mkdir(parents=True, exist_ok=True)
    members = spec.members()
    listed = {p: b + b"#wrong" if p in spec.wrong_record else b for p, b in members.items()}
    record = "".join(
        f"{p},{_record_hash(b)},{len(members[p])}\n" for p, b in sorted(listed.items())
    )
    members[f"{spec.dist_info}/RECORD"] = (record + f"{spec.dist_info}/RECORD,,\n").encode()
    path = directory / spec.filename
    with zipfile.ZipFile(path, "w", compression=compression) as archive:
        for name in sorted(members):
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            executable = spec.executable_scripts and name.startswith(f"{spec.data_dir}/scripts/")
            info.external_attr = (0o755 if executable else 0o644) << 16
            info.compress_type = compression
            archive.writestr(info, members[name])
    return path
