"""``check``: plugin policy on recorded runs and on a live environment."""

from __future__ import annotations

import pytest

from golden import check_golden
from plugin_catalog import GOOD
from test_cli import GOLDEN_FIELD, assert_one_line_error, cli

POLICY = [
    "--strict-plugins",
    "--require-determinism",
    "best_effort",
    "--insidellms-version",
    "0.3.1",
    "--deny",
    "Beta_Plugin",
]


@pytest.mark.parametrize(("fmt", "suffix"), [("text", "txt"), ("json", "json"), ("markdown", "md")])
def test_golden(fmt, suffix):
    result = cli("check", str(GOLDEN_FIELD), *POLICY, "--format", fmt)
    assert result.returncode == 1, result.stderr
    check_golden(f"check/violations.{suffix}", result.stdout)


@pytest.mark.parametrize(
    ("options", "code", "fragment"),
    [
        ([], 0, b"0 violations"),
        (["--insidellms-version", "0.2.9"], 0, b"0 violations"),
        (
            ["--insidellms-version", "0.3.0"],
            1,
            b"alpha  insidellms-version  supports insideLLMs >=0.2.0,<0.3.0, not 0.3.0",
        ),
        (["--require-determinism", "deterministic"], 1, b"gamma"),
        (
            ["--allow", "alpha-plugin", "--allow", "gamma-plugin"],
            1,
            b"distribution beta-plugin is not allowed",
        ),
        (["--deny", "gamma.plugin"], 1, b"distribution gamma-plugin is denied"),
    ],
)
def test_rules(options, code, fragment):
    result = cli("check", str(GOLDEN_FIELD), "--no-load", *options)
    assert result.returncode == code, result.stdout
    assert fragment in result.stdout


def test_default_rules_fail_plugins_that_did_not_load():
    result = cli("check", str(GOLDEN_FIELD))
    assert result.returncode == 1
    assert b"broken_import_plugin  load  load failed (RuntimeError)" in result.stdout
    assert b"not-callable          load  load skipped" in result.stdout
    assert b"integrity" not in result.stdout


def test_default_rules_fail_modified_files_and_conflicts(tmp_path):
    import json

    from insidellms_provenance.field._build import field_digest

    field = json.loads(GOLDEN_FIELD.read_bytes())
    alpha = field["plugins"][0]
    alpha["distribution"]["integrity"] = {
        "status": "modified",
        "paths": ["alpha_plugin/__init__.py"],
        "bytecode": "checked",
    }
    field["conflicts"] = [
        {
            "kind": "models",
            "key": "m",
            "plugins": ["alpha", "beta"],
            "outcome": "failed",
            "winner": "alpha",
        }
    ]
    field["digest"] = field_digest(field)
    path = tmp_path / "field.json"
    path.write_text(json.dumps(field))
    result = cli("check", str(path), "--no-load")
    assert result.returncode == 1
    assert b"alpha  integrity  integrity modified: alpha_plugin/__init__.py" in result.stdout
    assert (
        b"beta   conflicts  models 'm' also claimed by alpha (failed, alpha won)" in result.stdout
    )
    relaxed = cli("check", str(path), "--no-load", "--no-integrity", "--no-conflicts")
    assert relaxed.returncode == 0, relaxed.stdout


def test_policy_file_and_override(tmp_path):
    policy = tmp_path / "policy.toml"
    policy.write_text('[tool.insidellms-provenance]\nrequire-determinism = "deterministic"\n')
    assert (
        b"determinism non_deterministic"
        in cli("check", str(GOLDEN_FIELD), "--policy", str(policy)).stdout
    )
    flat = tmp_path / "flat.toml"
    flat.write_text('deny = ["alpha-plugin"]\nload = false\n')
    result = cli("check", str(GOLDEN_FIELD), "--policy", str(flat))
    assert result.returncode == 1
    assert b"distribution alpha-plugin is denied" in result.stdout


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (
            "require-determinism = 'mostly'\n",
            "require-determinism must be deterministic or best_effort",
        ),
        ("colour = 'blue'\n", "unknown policy keys: colour"),
        ("deny = [\n", "not a valid TOML policy"),
        ("insidellms-version = 'latest'\n", "is not a version"),
    ],
)
def test_bad_policy_files_are_exit_2(tmp_path, content, fragment):
    policy = tmp_path / "policy.toml"
    policy.write_text(content)
    assert_one_line_error(cli("check", str(GOLDEN_FIELD), "--policy", str(policy)), fragment)


# A valid value of each policy key, as a TOML value.
POLICY_VALUES = {
    "strict-plugins": "true",
    "strict-dependencies": "true",
    "require-determinism": '"best_effort"',
    "insidellms-version": '"0.3.1"',
    "allow": '["alpha-plugin"]',
    "deny": '["beta-plugin"]',
    "integrity": "false",
    "load": "false",
    "origin": "false",
    "conflicts": "false",
}


def test_every_policy_key_is_an_option_and_a_file_key():
    from insidellms_provenance.analyze._check import POLICY_KEYS
    from insidellms_provenance.cli._main import build_parser

    assert sorted(POLICY_KEYS) == sorted(POLICY_VALUES)
    arguments = build_parser(["check"]).parse_args(["check"])
    for key in POLICY_KEYS:
        assert hasattr(arguments, key.replace("-", "_")), key


@pytest.mark.parametrize("key", sorted(POLICY_VALUES))
def test_each_policy_key_in_a_file_is_the_option(tmp_path, key):
    policy = tmp_path / "policy.toml"
    policy.write_text(f"{key} = {POLICY_VALUES[key]}\n")
    from_file = cli("check", str(GOLDEN_FIELD), "--policy", str(policy), "--format", "json")
    option = [f"--{key}"]
    if POLICY_VALUES[key] == "false":
        option = [f"--no-{key}"]
    elif POLICY_VALUES[key] != "true":
        option.append(POLICY_VALUES[key].strip('[]"'))
    from_options = cli("check", str(GOLDEN_FIELD), *option, "--format", "json")
    assert b"Traceback" not in from_file.stderr, from_file.stderr
    assert (from_file.returncode, from_file.stdout) == (
        from_options.returncode,
        from_options.stdout,
    )
    assert from_file.returncode in (0, 1)


@pytest.mark.parametrize("key", sorted(POLICY_VALUES))
def test_each_policy_key_of_the_wrong_type_is_exit_2(tmp_path, key):
    policy = tmp_path / "policy.toml"
    policy.write_text(f"{key} = 1979-05-27\n")  # a date: no key takes one
    result = cli("check", str(GOLDEN_FIELD), "--policy", str(policy))
    assert_one_line_error(result, f"'{key}' must be")


def test_policy_keys_at_the_top_level_and_in_the_tool_table_are_exit_2(tmp_path):
    # Read from the table alone, this file passes a run its top level denies.
    policy = tmp_path / "pyproject.toml"
    policy.write_text(
        'deny = ["alpha-plugin"]\n[project]\nname = "x"\n'
        "[tool.insidellms-provenance]\nload = false\n"
    )
    result = cli("check", str(GOLDEN_FIELD), "--policy", str(policy))
    assert_one_line_error(result, "policy keys both at the top level (deny) and under")
    table_only = tmp_path / "table.toml"
    table_only.write_text('[project]\nname = "x"\n[tool.insidellms-provenance]\nload = false\n')
    assert cli("check", str(GOLDEN_FIELD), "--policy", str(table_only)).returncode in (0, 1)


def test_missing_policy_file_is_exit_2(tmp_path):
    assert_one_line_error(cli("check", "--policy", str(tmp_path / "none.toml")), "no such file")


def test_live_environment_before_a_run(make_env):
    venv = make_env("uv", GOOD)
    strict = venv.run("-m", "insidellms_provenance", "check", "--strict-plugins")
    assert strict.returncode == 1
    assert b"beta  strict-plugins  manifest missing" in strict.stdout
    relaxed = venv.run("-m", "insidellms_provenance", "check")
    assert relaxed.returncode == 0, relaxed.stdout


def _with_determinism(level: str | None):
    from diff_fixtures import evolve, plugin
    from insidellms_provenance.field import schema

    base = plugin("p")
    determinism = None if level is None else schema.determinism(level=level)
    return evolve(base, manifest=evolve(base["manifest"], determinism=determinism))


@pytest.mark.parametrize(
    ("required", "level", "violates"),
    [
        ("deterministic", "deterministic", False),
        ("deterministic", "best_effort", True),
        ("deterministic", "non_deterministic", True),
        ("deterministic", None, True),
        ("best_effort", "deterministic", False),
        ("best_effort", "best_effort", False),  # meeting the requirement exactly passes
        ("best_effort", "non_deterministic", True),
        ("best_effort", None, True),
    ],
)
def test_require_determinism(required, level, violates):
    from insidellms_provenance.analyze._check import check_policy, policy_from
    from insidellms_provenance.field._build import make_field

    field = make_field("insidellms.plugins", [_with_determinism(level)])
    violations = check_policy(field, policy_from({"require-determinism": required}))
    assert [v.rule for v in violations] == (["require-determinism"] if violates else [])


@pytest.mark.parametrize(
    ("options", "rules"),
    [
        ({}, []),
        ({"strict-plugins": True}, []),
        ({"allow": ["p-dist"]}, []),
        ({"allow": ["P_Dist"]}, []),  # names compare normalized
        ({"allow": ["other"]}, ["allow"]),
        ({"deny": ["p.dist"]}, ["deny"]),
        ({"deny": ["other"]}, []),
        ({"insidellms-version": "0.2.5"}, []),
        ({"insidellms-version": "0.3.0"}, ["insidellms-version"]),
    ],
)
def test_check_policy_rules(options, rules):
    from diff_fixtures import plugin
    from insidellms_provenance.analyze._check import check_policy, policy_from
    from insidellms_provenance.field._build import make_field

    violations = check_policy(make_field("g", [plugin("p")]), policy_from(options))
    assert [v.rule for v in violations] == rules


@pytest.mark.parametrize(
    ("options", "error"),
    [
        ({"require-determinism": "non_deterministic"}, "require-determinism must be"),
        ({"require-determinism": "perfect"}, "require-determinism must be"),
        ({"insidellms-version": "not a version"}, "is not a version"),
    ],
)
def test_bad_policies_are_refused(options, error):
    from insidellms_provenance.analyze._check import policy_from
    from insidellms_provenance.errors import ProvenanceError

    with pytest.raises(ProvenanceError, match=error):
        policy_from(options)


def test_strict_plugins_flags_a_manifest_that_is_not_ok():
    from diff_fixtures import evolve, plugin
    from insidellms_provenance.analyze._check import check_policy, policy_from
    from insidellms_provenance.field._build import make_field

    broken = plugin("p")
    broken = evolve(broken, manifest=evolve(broken["manifest"], status="invalid", problems=["x"]))
    violations = check_policy(make_field("g", [broken]), policy_from({"strict-plugins": True}))
    assert [(v.rule, v.message) for v in violations] == [("strict-plugins", "manifest invalid: x")]
