"""Host manifests json.dumps does not write: embed adds the field and keeps every other byte.

A number beyond double range or spelt another way, a key escaped or written twice, a
lone surrogate beside non-ASCII text: the manifest afterwards is the host's text with
the field added in its style, and valid JSON (re-serialized, ``1E400`` had become
``Infinity`` and one copy of a twice-written key had been dropped). A key on the way
to the field written twice is refused: exit 2, one line, nothing changed. A manifest
whose lines end with CRLF gets the field's lines ended so too, and embedding it again
changes no byte.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest
from hostile_kit import Case, Result, World, host_manifest, run_case, run_cli

# Stands for "score" while the host's text is made, then for the spelling under test.
_SCORE = "\x00the host's spelling\x00"


def host_text(field: dict[str, Any] | None, score: str, key: str) -> str:
    """The host's text of its manifest (with ``field``), ``score`` and ``custom`` spelt so."""
    text = json.dumps(host_manifest(field, score=_SCORE), sort_keys=True, indent=2)
    return text.replace(json.dumps(_SCORE), score).replace('"custom"', key)


def embed_into(manifest: Callable[[World], str], *, output: bool = True) -> Any:
    """``embed RUN --from FIELD``, the run's manifest written as ``manifest(world)``."""

    def make(world: World) -> list[str]:
        source = world.write("field.json", json.dumps(world.field()))
        world.write("run/manifest.json", manifest(world))
        if output:
            world.output("run/manifest.json")
        return ["embed", str(world.path("run")), "--from", str(source)]

    return make


def hosts(score: str, key: str = '"custom"', *, older: bool = False) -> Any:
    """The host's manifest, holding an older field or none."""
    return embed_into(lambda w: host_text(w.field("older") if older else None, score, key))


def foreign(text: str, *, output: bool = False) -> Any:
    """A manifest of another writer."""
    return embed_into(lambda _w: text, output=output)


def _not_json(constant: str) -> None:
    raise AssertionError(f"{constant} is not JSON")


def hosts_bytes(score: str, key: str = '"custom"') -> Callable[[World, Result], None]:
    """The manifest is the host's text with the field in it, and valid JSON."""

    def check(world: World, _result: Result) -> None:
        text = world.path("run/manifest.json").read_text(encoding="utf-8")
        assert text == host_text(world.field(), score, key)
        json.loads(text, parse_constant=_not_json)

    return check


_SURROGATE_AND_NON_ASCII = '{"a": "caf\u00e9", "b": "\\ud800", "custom": {}}'


def _surrogate_kept(world: World, _result: Result) -> None:
    field = json.dumps(world.field(), sort_keys=True, ensure_ascii=False)
    expected = _SURROGATE_AND_NON_ASCII[:-2] + '"plugin_provenance": ' + field + "}}"
    assert world.path("run/manifest.json").read_text(encoding="utf-8") == expected


def crlf(*, older: bool = False) -> Any:
    """The host's manifest (with an older field, or none), its lines ended with CRLF."""
    return embed_into(
        lambda w: host_text(w.field("older") if older else None, "1E400", '"custom"').replace(
            "\n", "\r\n"
        )
    )


def _crlf_kept(world: World, _result: Result) -> None:
    """The host's text with the field, every line ended with CRLF; again: no byte changes."""
    path = world.path("run/manifest.json")
    data = path.read_bytes()
    assert data.decode() == host_text(world.field(), "1E400", '"custom"').replace("\n", "\r\n")
    again = run_cli(
        world, ["embed", str(world.path("run")), "--from", str(world.path("field.json"))]
    )
    assert (again.code, again.err.endswith("provenance already up to date\n")) == (0, True)
    assert path.read_bytes() == data


SPELLINGS = [
    ("beyond-double", "1E400"),
    ("beyond-minus-double", "-1e999"),
    ("below-smallest-double", "1e-400"),
    ("negative-zero", "-0"),
    ("trailing-zero", "1.50"),
    ("exponent", "1E2"),
    ("escaped-slash", '"a\\/b"'),
    ("key-twice", '1,\n  "score": 2'),
]

# embed's note where json.dumps does not write the host's text.
KEPT = "every other byte is kept"

CASES = [
    *(
        Case(f"host-{name}", hosts(score), 0, KEPT, check=hosts_bytes(score))
        for name, score in SPELLINGS
    ),
    Case(
        "host-beyond-double-older-field",
        hosts("1E400", older=True),
        0,
        "embedded",
        check=hosts_bytes("1E400"),
    ),
    Case(
        "host-escaped-custom-key",
        hosts("1", '"cust\\u006fm"'),
        0,
        "embedded",
        check=hosts_bytes("1", '"cust\\u006fm"'),
    ),
    # json.dumps writes it so: the host's style, reproduced exactly, and no note.
    Case(
        "host-big-integer",
        hosts(str(2**80)),
        0,
        "embedded",
        absent=(KEPT,),
        check=hosts_bytes(str(2**80)),
    ),
    Case(
        "host-non-ascii-and-lone-surrogate",
        foreign(_SURROGATE_AND_NON_ASCII, output=True),
        0,
        "embedded",
        check=_surrogate_kept,
    ),
    # Lines ended with CRLF: the field's lines too.
    Case("host-crlf", crlf(), 0, KEPT, check=_crlf_kept),
    Case("host-crlf-older-field", crlf(older=True), 0, KEPT, check=_crlf_kept),
    # Which copy counts depends on the reader: no place to write is the right one.
    Case(
        "host-custom-twice",
        foreign('{"custom": {}, "score": 1E400, "custom": {}}'),
        2,
        "'custom' is written 2 times",
    ),
    Case(
        "host-custom-twice-once-escaped",
        foreign('{"custom": {"a": 1}, "cust\\u006fm": {"a": 2}}'),
        2,
        "'custom' is written 2 times",
    ),
    Case(
        "host-field-twice-once-escaped",
        foreign(
            '{"custom": {"plugin_provenance": {}, "plugin_provenanc\\u0065": {}}, "score": -0}'
        ),
        2,
        "'custom.plugin_provenance' is written 2 times",
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_host_manifest(
    case: Case, world: World, genuine: Any, genuine_other_group: Any
) -> None:
    world.fields = {"genuine": genuine, "older": genuine_other_group}
    run_case(case, world)
