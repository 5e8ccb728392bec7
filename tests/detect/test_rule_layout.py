"""Rules are discovered by being there, in `heuristics/ios/` or `heuristics/android/` like the artifacts they read."""

from __future__ import annotations

from preuve.detect.rules import discover_rules


def test_rules_are_found_in_both_platform_packages() -> None:
    rules = discover_rules()
    modules = {type(rule).__module__.rsplit(".", 1)[0] for rule in rules}
    assert modules == {"preuve.detect.heuristics.ios", "preuve.detect.heuristics.android"}
    assert len(rules) == 54
    assert [rule.name for rule in rules] == sorted(rule.name for rule in rules)


def test_a_rule_sits_beside_the_artifacts_it_reads() -> None:
    """A rule reads records of its platform's artifacts, or of its platform's acquisition kinds' checks."""
    from preuve.evidence.acquisition import acquisition_checks

    checks = {p: {type(c).__module__ for c in acquisition_checks(p)} for p in ("ios", "android")}
    for rule in discover_rules():
        platform = type(rule).__module__.split(".")[3]
        for record_type in rule.record_types:
            module = record_type.__module__
            assert module.startswith(f"preuve.artifacts.{platform}.") or module in checks.get(platform, ()), (
                rule.name, record_type)


def test_a_run_on_one_platform_takes_that_platforms_rules() -> None:
    """Each platform's rules are those of its package, and the two make up every rule (a run on one
    platform imports neither the other's rules nor, through them, its artifacts); a platform of no
    package takes every rule."""
    every = [type(rule) for rule in discover_rules()]
    ios = [type(rule) for rule in discover_rules("ios")]
    android = [type(rule) for rule in discover_rules("android")]
    assert {r.__module__.split(".")[3] for r in ios} == {"ios"}
    assert {r.__module__.split(".")[3] for r in android} == {"android"}
    assert sorted([*ios, *android], key=lambda r: r.name) == every
    assert [type(rule) for rule in discover_rules("elsewhere")] == every
