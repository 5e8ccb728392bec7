"""Rules are discovered by being there, in `heuristics/ios/` or `heuristics/android/` like the artifacts they read."""

from __future__ import annotations

from preuve.detect.rules import discover_rules


def test_rules_are_found_in_both_platform_packages() -> None:
    rules = discover_rules()
    modules = {type(rule).__module__.rsplit(".", 1)[0] for rule in rules}
    assert modules == {"preuve.detect.heuristics.ios", "preuve.detect.heuristics.android"}
    assert len(rules) == 50
    assert [rule.name for rule in rules] == sorted(rule.name for rule in rules)


def test_a_rule_sits_beside_the_artifacts_it_reads() -> None:
    for rule in discover_rules():
        platform = type(rule).__module__.split(".")[3]
        for record_type in rule.record_types:
            assert record_type.__module__.startswith(f"preuve.artifacts.{platform}."), (rule.name, record_type)
