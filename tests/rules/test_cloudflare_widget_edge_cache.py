"""cloudflare-widget-edge-cache: the widget host has a long-TTL, serve-stale edge cache rule and a
stale-if-error response rule in its zone."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import (
    SHAPES,
    failing,
    findings,
    levels,
    mutate,
    res,
    shape_of,
    undecided,
    without,
)

RULE = "cloudflare-widget-edge-cache"
PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
WIDGET = "widget-edge-widget"
CACHE = "widget-edge-cache-rules"
STALE = "widget-edge-stale-if-error"
FALLBACK = "widget-edge-origin-fallback"


def test_shipped_stacks_pass(prod_run: ProgramRun, staging_run: ProgramRun) -> None:
    assert failing(RULE, prod_run.resources) == set() == undecided(RULE, prod_run.resources)
    assert failing(RULE, staging_run.resources, STAGING) == set() == undecided(RULE, staging_run.resources)


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "changes", "reason"),
    [
        (CACHE, {"rules[0].actionParameters.cache": False}, "does not set cache"),
        (CACHE, {"rules[0].actionParameters.edgeTtl.default": 600.0}, "for less than 86400 s"),
        (CACHE, {"rules[0].actionParameters.edgeTtl.mode": "respect_origin"}, "for less than"),
        (
            CACHE,
            {"rules[0].actionParameters.serveStale.disableStaleWhileUpdating": True},
            "disables serving stale",
        ),
        (CACHE, {"rules[0].enabled": False}, "no edge cache rule names this host"),
        (CACHE, {"rules[0].expression": '(http.host eq "other.wiserreview.com")'}, "no edge cache rule"),
        (CACHE, {"phase": "http_request_firewall_custom"}, "no edge cache rule"),
        (STALE, {"rules[0].actionParameters.staleIfError.operation": "remove"}, "no stale-if-error"),
        (STALE, {"rules[0].actionParameters.staleIfError": MISSING}, "no stale-if-error"),
    ],
)
def test_deficient_rules_fail_the_widget_record(
    prod_run: ProgramRun, shape: str, name: str, changes: dict[str, Any], reason: str
) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, changes), shape)
    assert failing(RULE, loaded) == {WIDGET}
    (finding,) = findings(RULE, loaded)
    assert reason in finding.message and "widget.wiserreview.com" in finding.message


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("removed", [CACHE, STALE])
def test_missing_ruleset_fails(prod_run: ProgramRun, shape: str, removed: str) -> None:
    assert failing(RULE, shape_of(without(prod_run.resources, removed), shape)) == {WIDGET}


@pytest.mark.parametrize(
    ("expression", "named"),
    [
        ('(http.host in {"cdn.wiserreview.com" "widget.wiserreview.com"})', True),
        ('(http.host eq "WIDGET.wiserreview.com")', True),  # hosts compare without case
        ('(http.host eq "widget.wiserreview.com.evil.example")', False),
        ('(http.host eq "x-widget.wiserreview.com")', False),
        ('(http.request.uri.path eq "/widget.wiserreview.com\\"")', False),
    ],
)
def test_a_rule_names_the_host_only_by_a_whole_string_literal(
    prod_run: ProgramRun, expression: str, named: bool
) -> None:
    both = mutate(
        mutate(prod_run.resources, CACHE, {"rules[0].expression": expression}),
        STALE,
        {"rules[0].expression": expression},
    )
    assert failing(RULE, both) == (set() if named else {WIDGET})


def test_many_hosts_in_one_zone_are_each_judged_by_their_own_rules(prod_run: ProgramRun) -> None:
    """Rules are looked up by host: a zone with many widget hosts and rules fails exactly the one whose
    cache rule is short."""
    [record] = [r for r in prod_run.resources if r.name == WIDGET]
    [cache] = [r for r in prod_run.resources if r.name == CACHE]
    [stale] = [r for r in prod_run.resources if r.name == STALE]
    extra = []
    for n in range(50):
        host = f"w{n}.wiserreview.com"
        expression = f'(http.host eq "{host}")'
        ttl = 600.0 if n == 17 else 2592000.0
        extra += [
            res(record.type, f"w{n}", {**record.props, "name": host}),
            res(
                cache.type,
                f"w{n}-cache",
                {
                    **cache.props,
                    "rules": [
                        {
                            **cache.props["rules"][0],
                            "expression": expression,
                            "actionParameters": {
                                **cache.props["rules"][0]["actionParameters"],
                                "edgeTtl": {"mode": "override_origin", "default": ttl},
                            },
                        }
                    ],
                },
            ),
            res(
                stale.type,
                f"w{n}-stale",
                {**stale.props, "rules": [{**stale.props["rules"][0], "expression": expression}]},
            ),
        ]
    assert failing(RULE, [*prod_run.resources, *extra]) == {"w17"}


def test_a_verification_txt_record_is_no_fallback(prod_run: ProgramRun) -> None:
    """The `asuid.<host>` TXT records are DNS-only and their content is computed from the same app (its
    customDomainVerificationId), yet they send no client anywhere: without the CNAME the host has none."""
    txt = {
        r.name for r in prod_run.resources if r.type == tokens.CF_DNS_RECORD and r.props.get("type") == "TXT"
    }
    assert txt  # the program verifies its custom domains with TXT records computed from the app
    assert failing(RULE, without(prod_run.resources, FALLBACK)) == {WIDGET}


def test_fallback_record_is_dns_only_and_not_held_to_the_edge(prod_run: ProgramRun) -> None:
    # Proxying the direct fallback would send it through the edge: then it needs the cache rules too.
    # And the widget host is then left without a DNS-only fallback.
    proxied = mutate(prod_run.resources, FALLBACK, {"proxied": True})
    assert failing(RULE, proxied) == {FALLBACK, WIDGET}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(None, {WIDGET}, id="no-fallback-record"),
        pytest.param({"proxied": True}, {WIDGET, FALLBACK}, id="fallback-proxied"),
        pytest.param({"content": "other-app.azurewebsites.net"}, {WIDGET}, id="fallback-to-another-origin"),
        pytest.param({"zoneId": "f" * 32}, {WIDGET}, id="fallback-in-another-zone"),
        pytest.param({"content": "WISER-PROD-APP.azurewebsites.net."}, set(), id="same-origin-any-case"),
    ],
)
def test_the_direct_dns_fallback_must_reach_the_widget_hosts_origin(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any] | None, expected: set[str]
) -> None:
    """Seed: 'Cloudflare outage — ... remain accessible through direct DNS fallback'."""
    resources = (
        without(prod_run.resources, FALLBACK)
        if changes is None
        else mutate(prod_run.resources, FALLBACK, changes, property_dependencies={})
    )
    loaded = shape_of(resources, shape)
    assert failing(RULE, loaded) == expected
    assert undecided(RULE, loaded) == set()
    if WIDGET in expected:
        messages = [f.message for f in findings(RULE, loaded) if f.urn.endswith(f"::{WIDGET}")]
        assert messages == [
            "widget.wiserreview.com: no DNS-only record in its zone points at its origin "
            "('wiser-prod-app.azurewebsites.net'): when Cloudflare is down nothing reaches the app (the "
            "seed's direct DNS fallback)"
        ]


@pytest.mark.parametrize("shape", SHAPES)
def test_a_fallback_computed_from_the_same_app_counts_while_its_name_is_unknown(
    prod_preview_run: ProgramRun, shape: str
) -> None:
    """At a first preview both records' content is the app's computed host: the engine's dependency on the
    same app settles it; without it the fallback is unknown, never a pass or a violation."""
    both = mutate(
        mutate(prod_preview_run.resources, WIDGET, {"content": UNKNOWN}), FALLBACK, {"content": UNKNOWN}
    )
    assert WIDGET not in failing(RULE, shape_of(both, shape)) | undecided(RULE, shape_of(both, shape))
    blind = mutate(both, FALLBACK, {}, property_dependencies={})
    assert WIDGET in undecided(RULE, shape_of(blind, shape))
    assert WIDGET not in failing(RULE, shape_of(blind, shape))


def test_ruleset_of_another_zone_does_not_count(prod_run: ProgramRun) -> None:
    other = mutate(prod_run.resources, CACHE, {"zoneId": "f" * 32})
    assert failing(RULE, other) == {WIDGET}


def test_widget_hosts_tunable_narrows_the_check(prod_run: ProgramRun) -> None:
    loaded = without(prod_run.resources, CACHE)
    elsewhere = PolicyTargets.for_environment("prod", widget_hosts=["cdn.wiserreview.com"])
    assert failing(RULE, loaded, elsewhere) == set()
    assert failing(RULE, loaded, PolicyTargets.for_environment("prod", min_edge_ttl_seconds=1)) == {WIDGET}


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        (CACHE, "rules"),
        (CACHE, "rules[0].actionParameters"),
        (STALE, "rules[0].actionParameters.staleIfError"),
        (WIDGET, "proxied"),
    ],
)
def test_unknown_is_undecided_never_a_pass(prod_run: ProgramRun, shape: str, name: str, path: str) -> None:
    loaded = shape_of(mutate(prod_run.resources, name, {path: UNKNOWN}), shape)
    assert undecided(RULE, loaded) == {WIDGET} and failing(RULE, loaded) == set()
    assert levels(RULE, loaded, PROD) == {(WIDGET, "advisory")}


def test_v4_record_token() -> None:
    zone = "a" * 32
    record = res(tokens.CF_RECORD, "widget", {"zoneId": zone, "name": "w.example.com", "proxied": True})
    assert failing(RULE, [record]) == {"widget"}


def test_a_malformed_zone_id_is_a_zone_of_its_own_not_a_crash(prod_run: ProgramRun) -> None:
    """Found by the property test: a list as zoneId made the rule raise `unhashable type`."""
    other = mutate(prod_run.resources, CACHE, {"zoneId": ["a" * 32]})
    assert failing(RULE, other) == {WIDGET}
    record = res(tokens.CF_RECORD, "widget", {"zoneId": [], "name": "w.example.com", "proxied": True})
    assert failing(RULE, [record]) == {"widget"}
