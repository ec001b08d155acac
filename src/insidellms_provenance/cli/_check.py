"""``check``: enforce plugin policy (strict manifests, determinism, compatibility, lists)."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from insidellms_provenance.cli._options import (
    StoreOnce,
    add_format,
    add_group,
    add_run,
    group_to_record,
    path_value,
    set_epilog,
)
from insidellms_provenance.cli._render import (
    json_bytes,
    lines_text,
    markdown_cell,
    markdown_code,
    markdown_table,
    terminal_safe,
    text_table,
    write_output,
)

if TYPE_CHECKING:
    from insidellms_provenance.analyze._check import Violation

__all__ = ["CHECK_SCHEMA", "add_arguments", "render", "run"]

CHECK_SCHEMA = "insidellms-provenance/check/v1"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add this command's options."""
    add_run(
        parser,
        "a recorded run; without it, this environment is recorded (plugins imported)",
        optional=True,
    )
    add_group(parser, or_run=True)
    set_epilog(
        parser,
        sections={"rules (each names what makes a plugin fail)": _check_rules()},
        exit_codes="0 no plugin breaks a rule; 1 a plugin breaks a rule; 2 bad input "
        "(unreadable run, invalid policy file or option value).",
    )
    parser.add_argument(
        "--strict-plugins",
        action="store_true",
        default=None,
        help="fail on missing, invalid or failing plugin manifests",
    )
    parser.add_argument(
        "--strict-dependencies",
        action="store_true",
        default=None,
        help="fail on requirements of a plugin's dependency closure that are not met "
        "(missing, or installed outside the specifier)",
    )
    parser.add_argument(
        "--require-determinism",
        action=StoreOnce,
        choices=("deterministic", "best_effort"),
        help="fail on plugins below this determinism class",
    )
    parser.add_argument(
        "--insidellms-version",
        action=StoreOnce,
        metavar="V",
        help="fail when a plugin's insideLLMs specifier excludes V",
    )
    parser.add_argument(
        "--allow",
        action="append",
        metavar="DIST",
        help="only these distributions may provide plugins (repeatable)",
    )
    parser.add_argument(
        "--deny",
        action="append",
        metavar="DIST",
        help="these distributions must not provide plugins (repeatable)",
    )
    for rule, what in (
        ("integrity", "fail when installed files do not match RECORD (default: on)"),
        ("load", "fail when a plugin failed to load or was skipped (default: on)"),
        ("origin", "fail when a plugin's module is not its distribution's (default: on)"),
        ("conflicts", "fail when plugins claimed the same registry key (default: on)"),
    ):
        parser.add_argument(f"--{rule}", action=argparse.BooleanOptionalAction, help=what)
    parser.add_argument(
        "--policy",
        action=StoreOnce,
        type=path_value,
        metavar="FILE",
        help="TOML policy file with the same keys (options override it)",
    )
    parser.add_argument(
        "--lock",
        action=StoreOnce,
        type=path_value,
        metavar="FILE",
        help="PEP 751 pylock.toml: fail unless the plugins are exactly the locked packages",
    )
    add_format(parser, ("text", "json", "markdown"))


def _check_rules() -> tuple[str, ...]:
    from insidellms_provenance.analyze._check import CHECK_RULES

    return CHECK_RULES


def run(arguments: argparse.Namespace) -> int:
    """Check; exit 1 when any plugin violates the policy."""
    from insidellms_provenance.analyze._check import (
        POLICY_KEYS,
        check_policy,
        policy_from,
        read_policy_file,
    )

    options: dict[str, object] = {}
    if arguments.policy is not None:
        options.update(read_policy_file(arguments.policy))
    for key in POLICY_KEYS:
        value = getattr(arguments, key.replace("-", "_"))
        if value is not None:
            options[key] = value
    policy = policy_from(options)
    if arguments.run is not None:
        from insidellms_provenance.field._read import require_group
        from insidellms_provenance.runfile._read import load_provenance

        provenance, _ = load_provenance(arguments.run)
        require_group(provenance, where=str(arguments.run), group=arguments.group)
    else:
        from insidellms_provenance.fingerprint._recorder import record

        provenance = record(group_to_record(arguments), isolated=True)
    violations = check_policy(provenance, policy)
    if arguments.lock is not None:
        from insidellms_provenance.analyze._reproduce import lock_violations, read_lock

        lock = read_lock(arguments.lock)
        violations += lock_violations(
            provenance, lock, arguments.lock, where=str(arguments.run or "the environment")
        )
    output = render(arguments.format, provenance["group"], len(provenance["plugins"]), violations)
    write_output(output)
    return 1 if violations else 0


def render(fmt: str, group: str, checked: int, violations: list[Violation]) -> str | bytes:
    """The result in ``text``, ``markdown`` or canonical ``json``."""
    summary = (
        f"policy: {checked} plugin(s) of group {group} checked, "
        f"{len(violations)} violation{'' if len(violations) == 1 else 's'}"
    )
    if fmt == "json":
        value = {
            "schema": CHECK_SCHEMA,
            "group": group,
            "checked": checked,
            "ok": not violations,
            "violations": [
                {"plugin": v.plugin, "rule": v.rule, "message": v.message} for v in violations
            ],
        }
        return json_bytes(value)
    if fmt == "markdown":
        lines = [f"### Plugin {markdown_cell(summary)}", ""]  # the summary names the group
        if violations:
            lines += markdown_table(
                ("Plugin", "Rule", "Problem"),
                [(markdown_code(v.plugin), v.rule, markdown_cell(v.message)) for v in violations],
            )
        return terminal_safe(lines_text(lines).rstrip("\n") + "\n")
    lines = [summary]
    if violations:
        lines.append("")
        lines += text_table((v.plugin, v.rule, v.message) for v in violations)
    return terminal_safe(lines_text(lines))
