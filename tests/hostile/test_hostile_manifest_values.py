"""What ``plugin_manifest()`` returns never carries a secret into the field.

Values built from the environment (a cache directory, an endpoint with credentials and a
token, the user and host names) are copied redacted; problems quoting the plugin's keys
(a manifest that is not JSON) are redacted as every other problem; the manifest's
``digest`` is the same on every machine.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hostile_kit import Case, Result, World, run_case
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import good_plugin

# Recognizable planted values, not credentials.
SECRET_DIR = "zorg-secret-dir-4711"  # noqa: S105
SECRET_USER = "zorg-user-5511"  # noqa: S105
SECRET_HOST = "zorg-host-9931"  # noqa: S105
SECRET_TOKEN = "zorgtoken0451"  # noqa: S105
SECRET_PASSWORD = "zorgpass7"  # noqa: S105
SECRETS = (SECRET_DIR, SECRET_USER, SECRET_HOST, SECRET_TOKEN, SECRET_PASSWORD)
ENDPOINT = f"https://bob:{SECRET_PASSWORD}@models.example.com/v1?token={SECRET_TOKEN}"

# The manifest is built where the plugin runs, from that machine's environment.
LEAKY = f"""
import os
CACHE = os.path.join(os.environ["HOME"], {SECRET_DIR!r}, "cache")
def register():
    return None
def plugin_manifest():
    user, host = os.environ["USER"], os.environ["HOSTNAME"]
    return {{
        "name": "leaky",
        "version": "1.0",
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0",
        "capabilities": {{"models": [CACHE + "/model-a", "org/model-b"], "probes": [], "datasets": []}},
        "requires": {{"env": ["API_TOKEN", user]}},
        "determinism": {{
            "class": "best_effort",
            "notes": f"cache in {{CACHE}} on {{host}} as {{user}}, endpoint {ENDPOINT}",
        }},
        "unknown " + CACHE: 1,
    }}
"""


def _plant(world: World, home: str = "home") -> None:
    world.env["HOME"] = str(world.path(home))
    world.env["USER"] = SECRET_USER
    world.env["LOGNAME"] = SECRET_USER
    world.env["HOSTNAME"] = SECRET_HOST


def _leaky(world: World) -> list[str]:
    _plant(world)
    good_plugin(world, "good_plugin")
    world.plugin("leaky", LEAKY)
    return ["record"]


def _not_json(value: str) -> Any:
    def build(world: World) -> list[str]:
        _plant(world)
        good_plugin(world, "good_plugin")
        body = f"import os\ndef register():\n    return None\ndef plugin_manifest():\n    return {value}\n"
        world.plugin("leaky", body)
        return ["record"]

    return build


def _manifest(result: Result, name: str = "leaky") -> dict[str, Any]:
    plugins = {p["entry_point"]["name"]: p for p in json.loads(result.stdout)["plugins"]}
    assert plugins["good_plugin"]["manifest"]["status"] == "ok"
    manifest: dict[str, Any] = plugins[name]["manifest"]
    return manifest


def _assert_clean(result: Result) -> None:
    for secret in SECRETS:
        assert secret not in result.out + result.err, secret


def _values_redacted(world: World, result: Result) -> None:
    _assert_clean(result)
    manifest = _manifest(result)
    assert manifest["status"] == "invalid"  # the unknown key, and only that
    assert manifest["problems"] == ["unknown key 'unknown {path}'"]
    assert manifest["capabilities"]["models"] == ["org/model-b", "{path}"]
    assert manifest["requires"]["env"] == ["API_TOKEN", "{user}"]
    notes = "cache in {path} on {host} as {user}, endpoint https://models.example.com/v1"
    assert manifest["determinism"] == {"class": "best_effort", "notes": notes}
    assert manifest["name"] == "leaky"
    assert manifest["digest"].startswith("sha256:")


def _problem_redacted(expected: str) -> Any:
    def check(world: World, result: Result) -> None:
        _assert_clean(result)
        manifest = _manifest(result)
        assert manifest["status"] == "invalid"
        assert manifest["problems"] == [expected]

    return check


CASES = [
    Case("record-manifest-values-with-secrets", _leaky, 0, "{path}", check=_values_redacted),
    Case(
        "record-manifest-bytes-key-with-secrets",
        _not_json(f"{{os.environ['HOME'].encode() + b' {ENDPOINT}': 1}}"),
        0,
        "not JSON",
        check=_problem_redacted(
            "not JSON: $: key b'{path} https://models.example.com/v1' is not a string"
        ),
    ),
    Case(
        "record-manifest-nan-under-a-key-with-secrets",
        _not_json(
            "{'cache': {os.environ['HOME'] + ' ' + os.environ['HOSTNAME'] + ' "
            f"{ENDPOINT}': float('nan')}}}}"
        ),
        0,
        "not JSON",
        check=_problem_redacted(
            'not JSON: $.cache["{path} {host} https://models.example.com/v1"]: '
            "nan is not a JSON number"
        ),
    ),
    Case(
        "record-manifest-of-a-class-named-by-a-path",
        _not_json("type(os.environ['HOME'], (), {})()"),
        0,
        "not JSON",
        check=_problem_redacted("not JSON: $: {path} is not a JSON type"),
    ),
]


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_hostile_manifest_values(case: Case, world: World) -> None:
    run_case(case, world)


def _leaky_manifest(tmp: Any, home: str, user: str, host: str, notes: str = "") -> dict[str, Any]:
    """``record`` of the leaky plugin as user ``user`` on ``host`` with home ``home``."""
    world = World(tmp)
    world.env.update({"HOME": str(world.path(home)), "USER": user, "HOSTNAME": host})
    world.env["LOGNAME"] = user
    world.plugin("leaky", LEAKY.replace("endpoint ", f"{notes}endpoint "))
    good_plugin(world, "good_plugin")
    result = run_case(Case("record", lambda _w: ["record"], 0), world)
    return _manifest(result)


def test_the_digest_is_the_same_on_every_machine_and_follows_the_manifest(tmp_path: Any) -> None:
    """Two machines, two users and homes: one manifest, one digest; another note, another."""
    one = _leaky_manifest(tmp_path / "a", "home-alice", "zorg-alice", "zorg-host-a")
    two = _leaky_manifest(tmp_path / "b", "elsewhere/home-bob", "zorg-bob", "zorg-host-b")
    assert one == two
    edited = _leaky_manifest(tmp_path / "c", "home-alice", "zorg-alice", "zorg-host-a", "new ")
    assert edited["digest"] != one["digest"]
    assert edited["determinism"]["notes"] != one["determinism"]["notes"]


def test_a_clean_manifest_keeps_the_digest_of_its_canonical_json() -> None:
    """Nothing to redact: the digest is the manifest's, as before redaction existed."""
    from insidellms_provenance._canonical import canonical_json, sha256_digest
    from insidellms_provenance.fingerprint._plugin_manifest import summarize_manifest

    manifest = {
        "name": "alpha",
        "version": "1.0",
        "sdk_version": "1",
        "insideLLMs": ">=0.2.0",
        "capabilities": {"models": ["org/model", "a-b_c"], "probes": [], "datasets": []},
        "determinism": {"class": "deterministic", "notes": "seed 0; 3/4 of runs"},
    }
    summary = summarize_manifest(manifest)
    assert summary["status"] == "ok", summary["problems"]
    assert summary["digest"] == sha256_digest(canonical_json(manifest))


# Text made of the pieces redact reacts to: separators, options, URL parts, names.
_PIECES = st.sampled_from(
    [
        *("/", "//", "\\", "~", ":", "-", "-I", "://", "@", "?", ".", " ", "\n", '"', "'"),
        *("{", "}", "a", "ab", "org", "x1", "_", "é", "1", "home", "https", SECRET_USER),
        SECRET_HOST,
    ]
)
_TEXT = st.lists(st.one_of(_PIECES, st.text(string.printable, max_size=3)), max_size=12).map(
    "".join
)


@settings(max_examples=400, deadline=None)
@given(text=_TEXT)
def test_the_cheap_test_never_passes_what_redact_would_change(text: str) -> None:
    """``may_need_redacting`` may say yes too often, never no where redact changes text."""
    import os
    import sys

    from insidellms_provenance.fingerprint import _redact

    saved = {name: os.environ.get(name) for name in ("USER", "HOSTNAME")}
    os.environ.update({"USER": SECRET_USER, "HOSTNAME": SECRET_HOST})
    try:
        names = tuple(pattern for pattern, _ in _redact._name_patterns())
        prefixes = tuple(prefix for prefix, _ in _redact._prefixes())
        for candidate in (text, text + sys.prefix, sys.prefix[1:] + text):
            if not _redact.may_need_redacting(candidate, names, prefixes):
                assert _redact.redact(candidate) == candidate, candidate
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def test_registry_keys_a_host_run_observed_are_redacted(tmp_path: Any) -> None:
    # A plugin chooses its registry keys; a host run copies them into the field
    # (registered, replaced, conflicts). A key naming a path or a URL with a token is
    # redacted as a manifest value is; an ordinary key is kept as it is.
    from insidellms_provenance.field import schema
    from insidellms_provenance.fingerprint._recorder import _without_secrets

    secret = (
        f"{tmp_path}/{SECRET_DIR}/model https://u:{SECRET_PASSWORD}@h.example/m?t={SECRET_TOKEN}"
    )
    keys = schema.registry_keys(models=[secret, "org/model"], probes=["plain"])
    seen = schema.observation(
        load=schema.load_outcome(status="loaded"), registered=keys, replaced=keys
    )
    clash = schema.conflict(
        kind="models", key=secret, plugins=("a", "b"), outcome="overwritten", winner="b"
    )
    observations, conflicts = _without_secrets({("a", "a:register"): seen}, [clash])
    text = json.dumps([list(observations.values()), conflicts])
    assert not any(token in text for token in SECRETS), text
    cleaned = observations[("a", "a:register")]
    assert cleaned["registered"] == cleaned["replaced"]
    assert cleaned["registered"]["models"] == ["org/model", "{path} https://h.example/m"]
    assert conflicts[0]["key"] == "{path} https://h.example/m"
    # Keys that cannot need it are the very same objects: nothing is rebuilt.
    plain = schema.observation(
        load=schema.load_outcome(status="loaded"),
        registered=schema.registry_keys(models=["org/model"]),
    )
    untouched = {("p", "p:register"): plain}
    assert _without_secrets(untouched, [])[0] is untouched
