"""The report's tuples and what a diff run imports.

``Change``, ``DiffReport`` and ``FailOnPolicy`` are declared to the type checker as
``NamedTuple``s and made at run time by ``collections.namedtuple``, so that ``diff``
never imports ``typing`` (about 3 ms of a diff of two small runs). These tests hold the
two declarations to the same fields and defaults, and a whole diff run to its imports.
"""

import ast
import inspect
import subprocess
import sys

import pytest

from diff_fixtures import GROUP, before_and_after
from insidellms_provenance.analyze import _change, _diff, _fail_on
from insidellms_provenance.field._build import field_bytes, make_field

TUPLES = [
    (_change, _change.Change, "_ChangeFields"),
    (_diff, _diff.DiffReport, "_DiffReportFields"),
    (_fail_on, _fail_on.FailOnPolicy, "_FailOnPolicyFields"),
]


def _typed_declaration(module, name):
    """Fields and defaults of the class ``name`` as the type checker reads it."""
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and node.name == name:
            fields, defaults = [], {}
            for statement in node.body:
                if isinstance(statement, ast.AnnAssign):
                    fields.append(statement.target.id)
                    if statement.value is not None:
                        defaults[statement.target.id] = ast.literal_eval(statement.value)
            return tuple(fields), defaults
    raise AssertionError(f"no class {name} in {module.__name__}")


@pytest.mark.parametrize(("module", "runtime", "typed"), TUPLES)
def test_runtime_tuples_have_the_declared_fields_and_defaults(module, runtime, typed):
    fields, defaults = _typed_declaration(module, typed)
    assert runtime._fields == fields
    assert runtime._field_defaults == defaults
    assert runtime.__name__ == runtime.__bases__[0].__name__  # repr names the class


def test_runtime_tuples_behave_as_their_declarations():
    change = _change.Change("p", "version", "medium", "changed", before="1", after="2")
    assert change.implied == ()
    assert change.size is None
    assert repr(change).startswith("Change(plugin='p', kind='version'")
    replaced = change._replace(implied=("x",))
    assert type(replaced) is _change.Change
    assert replaced.implied == ("x",)
    assert replaced.sort_key == (_change.SEVERITIES.index("medium"), "version", "changed")
    report = _diff.DiffReport("g", "sha256:a", "sha256:a", ())
    assert report.identical
    assert report.notes == ()
    policy = _fail_on.parse_fail_on("any,-low")
    assert type(policy) is _fail_on.FailOnPolicy
    assert policy.selects(change)


def _plain_versions(*fields):
    """The fields, each with only the plugins whose versions are plain on every side."""

    def plain(plugin):
        dist = plugin["distribution"]
        return dist is None or dist["version"].replace(".", "").isdigit()

    names = set.intersection(
        *({p["entry_point"]["name"] for p in field["plugins"] if plain(p)} for field in fields)
    )
    return [
        make_field(
            GROUP,
            [p for p in field["plugins"] if p["entry_point"]["name"] in names],
            field["conflicts"],
            field.get("dependencies"),
            observed_in_run=field["observed_in_run"],
        )
        for field in fields
    ]


@pytest.mark.parametrize("fmt", ["text", "json", "markdown"])
def test_a_diff_run_imports_neither_typing_nor_argparse(tmp_path, fmt):
    # Every change kind but versions that only packaging reads (pre-releases, local
    # versions, ...), which import it and, through it, typing.
    before, after = _plain_versions(*before_and_after())
    (tmp_path / "before.json").write_bytes(field_bytes(before))
    (tmp_path / "after.json").write_bytes(field_bytes(after))
    # What the interpreter loaded before the script (site's .pth files: an editable
    # install's finder imports pathlib and typing) is not diff's doing.
    script = (
        "import sys\n"
        "already = set(sys.modules)\n"
        "from insidellms_provenance.cli._main import main\n"
        f"code = main(['diff', 'before.json', 'after.json', '--format', '{fmt}'])\n"
        "assert code == 1, code\n"
        "unwanted = {'typing', 'argparse', 'pathlib', 'attrs', 'cattrs'} - already\n"
        "loaded = unwanted & set(sys.modules)\n"
        "assert not loaded, sorted(loaded)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
