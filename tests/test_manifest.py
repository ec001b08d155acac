import re
import sys

import pytest
from hypothesis import example, given
from hypothesis import strategies as st
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from insidellms_provenance._canonical import canonical_digest, canonical_json
from insidellms_provenance.field import schema
from insidellms_provenance.field._validate import validate
from insidellms_provenance.field.schema import ManifestSummary
from insidellms_provenance.fingerprint import _plugin_manifest as plugin_manifest
from insidellms_provenance.fingerprint._plugin_manifest import MAX_MANIFEST_BYTES


def summarize_manifest(value: object) -> ManifestSummary:
    """The summary as the record readers see, which also checks its plain shape."""
    summary = plugin_manifest.summarize_manifest(value)
    assert validate(summary, ManifestSummary) == []
    return summary


VALID = {
    "name": "alpha",
    "version": "1.0.0",
    "sdk_version": "1",
    "insideLLMs": ">=0.2.0,<0.3.0",
    "capabilities": {"models": ["m2", "m1"], "probes": ["p"], "datasets": []},
    "requires": {"python": ">=3.10", "extras": ["x"], "env": ["TOKEN"]},
    "determinism": {"class": "deterministic", "notes": "seeded"},
}


def test_valid_manifest_is_summarized():
    summary = summarize_manifest(VALID)
    assert summary["status"] == "ok"
    assert summary["problems"] == []
    assert summary["digest"] == canonical_digest(VALID)
    assert summary["capabilities"] == schema.registry_keys(models=("m1", "m2"), probes=("p",))
    assert summary["requires"] == schema.requires(python=">=3.10", extras=("x",), env=("TOKEN",))
    assert summary["determinism"] == schema.determinism(level="deterministic", notes="seeded")
    assert (summary["name"], summary["version"], summary["sdk_version"], summary["insideLLMs"]) == (
        "alpha",
        "1.0.0",
        "1",
        ">=0.2.0,<0.3.0",
    )


def test_digest_ignores_key_order():
    reordered = dict(reversed(list(VALID.items())))
    assert summarize_manifest(reordered)["digest"] == summarize_manifest(VALID)["digest"]


@pytest.mark.parametrize(
    ("change", "problems"),
    [
        ({"name": 3}, ["name must be a string, not int"]),
        ({"version": "one"}, ["version 'one' is not a valid version"]),
        ({"sdk_version": "2"}, ["unknown sdk_version '2'"]),
        ({"insideLLMs": ">>0.2"}, ["insideLLMs '>>0.2' is not a valid version specifier"]),
        ({"capabilities": []}, ["capabilities must be an object"]),
        ({"capabilities": {"models": "m"}}, ["capabilities.models must be a list of strings"]),
        ({"capabilities": {"tools": []}}, ["unknown capability kind 'tools'"]),
        (
            {"requires": {"python": "3.10"}},
            ["requires.python '3.10' is not a valid version specifier"],
        ),
        ({"requires": {"env": [1]}}, ["requires.env must be a list of strings"]),
        (
            {"determinism": {"class": "mostly"}},
            [
                "determinism.class 'mostly' is not one of deterministic, best_effort, non_deterministic"
            ],
        ),
        ({"determinism": {}}, ["determinism.class is missing"]),
        ({"determinism": "yes"}, ["determinism must be an object"]),
        ({"extra": 1}, ["unknown key 'extra'"]),
    ],
)
def test_invalid_fields_are_reported_and_valid_parts_kept(change, problems):
    summary = summarize_manifest({**VALID, **change})
    assert summary["status"] == "invalid"
    assert list(summary["problems"]) == sorted(problems)
    assert summary["digest"] is not None


def test_missing_keys_are_each_reported():
    summary = summarize_manifest({})
    assert summary["status"] == "invalid"
    assert summary["problems"] == sorted(
        [
            "missing key 'capabilities'",
            "missing key 'determinism'",
            "missing key 'insideLLMs'",
            "missing key 'name'",
            "missing key 'sdk_version'",
            "missing key 'version'",
        ]
    )


@pytest.mark.parametrize(
    ("value", "problem_start"),
    [
        ([1, 2], "returned list, expected a dict"),
        ("text", "returned str, expected a dict"),
        ({"name": float("nan")}, "not JSON: "),
        ({"name": {"a", "b"}}, "not JSON: "),
        ({1: "x"}, "not JSON: "),
    ],
)
def test_non_manifests_are_invalid(value, problem_start):
    summary = summarize_manifest(value)
    assert summary["status"] == "invalid"
    assert len(summary["problems"]) == 1
    assert summary["problems"][0].startswith(problem_start)


def test_huge_manifest_is_refused_but_digested():
    value = {**VALID, "name": "x" * (MAX_MANIFEST_BYTES + 1)}
    summary = summarize_manifest(value)
    assert summary["status"] == "invalid"
    assert summary["digest"] == canonical_digest(value)
    assert summary["name"] is None
    assert "over the 1048576 limit" in summary["problems"][0]


def manifest_of_size(size: int) -> dict:
    """A valid manifest whose canonical JSON is exactly ``size`` bytes (notes padded)."""
    base = {**VALID, "determinism": {"class": "deterministic", "notes": ""}}
    padding = size - len(canonical_json(base))
    value = {**base, "determinism": {"class": "deterministic", "notes": "n" * padding}}
    assert len(canonical_json(value)) == size
    return value


@pytest.mark.parametrize(
    ("size", "status"),
    [
        (MAX_MANIFEST_BYTES - 1, "ok"),
        (MAX_MANIFEST_BYTES, "ok"),
        (MAX_MANIFEST_BYTES + 1, "invalid"),
    ],
)
def test_the_size_limit_is_inclusive(size, status):
    summary = summarize_manifest(manifest_of_size(size))
    assert summary["status"] == status
    assert (summary["problems"] == []) is (status == "ok")


def packaging_accepts(parse, error, text):
    try:
        parse(text)
    except error:
        return False
    return True


ARABIC_ONE = "\u0661"  # a Unicode digit: PEP 440 allows only ASCII ones
SPECIFIER_PIECES = st.lists(
    st.sampled_from(
        [
            *("==", "!=", "<=", ">=", "<", ">", "~=", "===", " ", ",", "1", "0", "12", ".", "*"),
            *("a", "rc", "post", "dev", "+", "-", "\t", ARABIC_ONE, "\u00a0", "v", "!", "_"),
        ]
    ),
    max_size=10,
).map("".join)


@given(text=SPECIFIER_PIECES)
@example(text=">=0.2.0,<0.3.0")
@example(text="~=1")
@example(text="==1.*")
@example(text=">=1,")
@example(text="==" + ARABIC_ONE)
def test_specifier_verdict_is_packagings(text):
    assert plugin_manifest.is_specifier(text) == packaging_accepts(
        SpecifierSet, InvalidSpecifier, text
    )


@given(text=SPECIFIER_PIECES)
@example(text="1.0")
@example(text=ARABIC_ONE + ".0")
@example(text="v1.0")
def test_version_verdict_is_packagings(text):
    assert plugin_manifest.is_version(text) == packaging_accepts(Version, InvalidVersion, text)


@pytest.mark.parametrize("text", [">=0.2.0,<0.3.0", "==1", " >= 3.10 ", "~=1.4,!=1.5"])
def test_plain_specifiers_are_judged_without_packaging(text, monkeypatch):
    monkeypatch.setitem(sys.modules, "packaging.specifiers", None)  # importing it fails
    assert plugin_manifest.is_specifier(text)
    assert plugin_manifest.is_version("1.2.3")


# The plain shapes as regular expressions: what the string checks must accept, exactly.
_CLAUSE = r" *(?:(?:==|!=|<=|>=|<|>) *[0-9]+(?:\.[0-9]+)*|~= *[0-9]+(?:\.[0-9]+)+) *"
_SPECIFIER = re.compile(rf"{_CLAUSE}(?:,{_CLAUSE})*", re.ASCII)
_RELEASE = re.compile(r"[0-9]+(?:\.[0-9]+)*", re.ASCII)


@given(text=SPECIFIER_PIECES)
@example(text="~=1")
@example(text=" ~= 1.2 , < 3 ")
@example(text="<=1..2")
def test_plain_shapes_are_exactly_the_documented_ones(text):
    assert plugin_manifest._is_plain_specifier(text) == bool(_SPECIFIER.fullmatch(text))
    assert plugin_manifest._is_plain_release(text) == bool(_RELEASE.fullmatch(text))


LONG_DIGITS = pytest.mark.skipif(
    not hasattr(sys, "get_int_max_str_digits"), reason="no int digit limit on this Python"
)


@LONG_DIGITS
def test_a_number_of_more_digits_than_int_reads_is_no_version():
    """packaging raises a bare ValueError for it, not InvalidVersion: still a problem, no crash."""
    long = "1a" + "1" * 5000
    summary = summarize_manifest({**VALID, "version": long})
    assert summary["status"] == "invalid"
    assert summary["problems"] == [f"version {long!r} is not a valid version"]


@LONG_DIGITS
def test_doctor_reads_a_declared_specifier_it_cannot_compare_as_unmet():
    from insidellms_provenance.field import schema
    from insidellms_provenance.host._inspect import plugin_problems

    specifier = ">=" + "1" * 5000
    plugin = schema.fingerprint(
        entry_point=schema.entry_point(group="g", name="p", value="p:register"),
        distribution=None,
        source=None,
        origin=schema.origin(status="unknown"),
        manifest=schema.manifest_summary(status="ok", insidellms=specifier),
        load=schema.load_outcome(status="loaded"),
    )
    assert plugin_problems(plugin, "0.2.0") == [f"requires insideLLMs {specifier}, this is 0.2.0"]
