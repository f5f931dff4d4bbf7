"""Widget assets are served from the Cloudflare edge through an origin outage.

Each proxied DNS record that serves widget assets (`widgetHosts`, or every proxied record when that is
empty) needs, in its zone, an enabled Cache Rule (`http_request_cache_settings`, `set_cache_settings`) whose
expression names the host (one of its string literals is the host), with `cache` on, an `override_origin`
edge TTL of at least `minEdgeTtlSeconds` and serve-stale not disabled, and an enabled Cache Response Rule
(`http_response_cache_settings`, `set_cache_control`) for the host that sets `stale-if-error`, so cached
assets are served while the origin errs or is down. And when Cloudflare itself is down, a DNS-only
(`proxied` false) record in the same zone must point at the same origin as the widget host (the seed's
"direct DNS fallback", `direct.*` in the shipped stacks): the same `content`, or `content` computed from the
same resource (the app).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.core import Finding, Severity, stack_rule, unknown, violation
from backstop.policy.stackview import StackView
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING, fmt, get, is_true, items, number


def _zone_key(resource: Resource) -> Any:
    """A zone by its id, or by the resource that computed it."""
    deps = resource.property_dependencies.get("zoneId") or ()
    if deps:
        return deps[0]
    zone = get(resource.props, "zoneId")
    try:
        hash(zone)
    except TypeError:  # a malformed zoneId (a list, a map) is still one zone, never a crash
        return repr(zone)
    return zone


# A string literal of a Rules language expression (`"..."`, with `\\"` escapes), as written.
_LITERAL = re.compile(r'"((?:[^"\\]|\\.)*)"')


def _by_host(rules: list[Any]) -> dict[str, list[Any]]:
    """The rules by each string literal of their expression, lower-cased, in rule order: a rule names a
    host when one of its literals is that host (`http.host eq "h"`, `http.host in {"h" "g"}`). Built once
    per zone, so each record looks up its host instead of scanning every rule of the zone."""
    index: dict[str, list[Any]] = defaultdict(list)
    for rule in rules:
        for literal in dict.fromkeys(_LITERAL.findall(str(get(rule, "expression")).lower())):
            index[literal].append(rule)
    return index


def _rules(ruleset: Resource, phase: str, action: str) -> list[Any] | Any:
    listed = items(get(ruleset.props, "rules"))
    if is_unknown(listed):
        return UNKNOWN
    if get(ruleset.props, "phase") != phase:
        return []
    return [r for r in listed if get(r, "action") == action and get(r, "enabled") is not False]


def _cache_rule_ok(rule: Any, targets: PolicyTargets) -> bool | str | None:
    params = get(rule, "actionParameters")
    if is_unknown(params):
        return None
    if not is_true(get(params, "cache")):
        return "its cache rule does not set cache"
    mode, ttl = get(params, "edgeTtl.mode"), get(params, "edgeTtl.default")
    if is_unknown(mode) or is_unknown(ttl):
        return None
    if mode != "override_origin" or (number(ttl) or 0) < targets.min_edge_ttl_seconds:
        return f"its cache rule keeps assets at the edge for less than {targets.min_edge_ttl_seconds} s"
    stale = get(params, "serveStale.disableStaleWhileUpdating")
    if is_unknown(stale):
        return None
    if stale is True:
        return "its cache rule disables serving stale content"
    return True


def _stale_if_error_ok(rule: Any) -> bool | str | None:
    directive = get(rule, "actionParameters.staleIfError")
    if is_unknown(directive):
        return None
    if (
        directive is MISSING
        or get(directive, "operation") != "set"
        or not (number(get(directive, "value")) or 0) > 0
    ):
        return "no stale-if-error directive for its assets"
    return True


def _origin(record: Resource) -> tuple[Any, frozenset[str]]:
    """Where a record points: its `content` (v4 `Record`: also `value`), lower case without the root dot,
    and the resources that content was computed from."""
    value = get(record.props, "content")
    if value is MISSING:
        value = get(record.props, "value")
    deps = frozenset(record.property_dependencies.get("content") or ()) | frozenset(
        record.property_dependencies.get("value") or ()
    )
    if isinstance(value, str):
        value = value.lower().rstrip(".")
    return value, deps


# Records that send a client somewhere: only these can be the fallback (a DNS-only TXT reaches nothing).
_ADDRESS_TYPES = frozenset({"CNAME", "A", "AAAA"})


def _fallback(record: Resource, host: str, candidates: list[Resource]) -> bool | str | None:
    """True: a DNS-only record of the zone reaches the widget host's origin; a string: why not; None:
    unknown."""
    origin, deps = _origin(record)
    if is_unknown(origin) and not deps:
        return None
    undecided = False
    for other in candidates:
        name = get(other.props, "name")
        if other is record or (isinstance(name, str) and name.lower() == host.lower()):
            continue
        if is_unknown(get(other.props, "proxied")) or is_unknown(name):
            undecided = True
            continue
        if is_true(get(other.props, "proxied")):
            continue
        kind = get(other.props, "type")
        if is_unknown(kind):
            undecided = True
            continue
        if not isinstance(kind, str) or kind.upper() not in _ADDRESS_TYPES:
            continue  # a TXT record (App Service's `asuid` verification) is computed from the app too
        target, target_deps = _origin(other)
        if (isinstance(origin, str) and target == origin) or (deps & target_deps):
            return True
        if is_unknown(target) and not target_deps:
            undecided = True
    if undecided:
        return None
    where = fmt(origin) if isinstance(origin, str) else "the app"
    return (
        f"no DNS-only record in its zone points at its origin ({where}): when Cloudflare is down nothing "
        "reaches the app (the seed's direct DNS fallback)"
    )


@stack_rule(
    id="cloudflare-widget-edge-cache",
    description=(
        f"{seeds.SEED_WISER}, Recovery Objectives: 'Widget delivery RTO — Near-zero — Cloudflare CDN "
        "continues serving cached widget assets from 300+ edge locations even during origin outages'; "
        "Disaster Recovery Scenarios: 'Cloudflare outage — review data and dashboard remain accessible "
        "through direct DNS fallback'."
    ),
    severity=Severity.HIGH,
    remediation=(
        "Declare cloudflare.Ruleset(kind='zone', phase='http_request_cache_settings', rules=[{'action': "
        "'set_cache_settings', 'expression': '(http.host eq \"<widget host>\" ...)', 'action_parameters': "
        "{'cache': True, 'edge_ttl': {'mode': 'override_origin', 'default': <$min_edge_ttl_seconds or "
        "more>}, 'serve_stale': "
        "{'disable_stale_while_updating': False}}}]) and a 'http_response_cache_settings' ruleset with "
        "'set_cache_control' and stale_if_error={'operation': 'set', 'value': 604800}; and a DNS-only "
        "cloudflare.DnsRecord(name='direct.<zone>', proxied=False, content=<the widget record's origin>)."
    ),
    tunables=("min_edge_ttl_seconds", "widget_hosts"),
)
def check(stack: StackView, targets: PolicyTargets) -> Iterator[Finding]:
    cache_rules: dict[Any, list[Any]] = defaultdict(list)
    response_rules: dict[Any, list[Any]] = defaultdict(list)
    undecided_zones: set[Any] = set()
    floating = False
    for ruleset in stack.of(tokens.CF_RULESET):
        zone = _zone_key(ruleset)
        cache = _rules(ruleset, tokens.CF_CACHE_PHASE, tokens.CF_CACHE_ACTION)
        response = _rules(ruleset, tokens.CF_CACHE_RESPONSE_PHASE, tokens.CF_CACHE_CONTROL_ACTION)
        if is_unknown(zone):
            floating = True
            continue
        if is_unknown(cache) or is_unknown(get(ruleset.props, "phase")):
            undecided_zones.add(zone)
            continue
        cache_rules[zone].extend(cache)
        response_rules[zone].extend(response)
    records_by_zone: dict[Any, list[Resource]] = defaultdict(list)
    for record in stack.of(tokens.CF_DNS_RECORDS):
        records_by_zone[_zone_key(record)].append(record)
    cache_by_host = {zone: _by_host(rules) for zone, rules in cache_rules.items()}
    response_by_host = {zone: _by_host(rules) for zone, rules in response_rules.items()}
    wanted = {h.lower() for h in targets.widget_hosts}
    for record in stack.of(tokens.CF_DNS_RECORDS):
        proxied, host = get(record.props, "proxied"), get(record.props, "name")
        if is_unknown(proxied) or is_unknown(host):
            yield unknown(record, "whether this record serves widget assets through the edge")
            continue
        if not is_true(proxied) or not isinstance(host, str):
            continue
        if wanted and host.lower() not in wanted:
            continue
        zone = _zone_key(record)
        if is_unknown(zone) or zone in undecided_zones or floating:
            yield unknown(record, "the cache rules of this record's zone")
            continue
        fallback = _fallback(record, host, records_by_zone.get(zone, []))
        if fallback is None:
            yield unknown(record, "the DNS-only fallback record of this host's origin")
        elif isinstance(fallback, str):
            yield violation(record, f"{host}: {fallback}")
        needle = host.lower()
        verdicts = [_cache_rule_ok(rule, targets) for rule in cache_by_host.get(zone, {}).get(needle, [])]
        stale = [_stale_if_error_ok(rule) for rule in response_by_host.get(zone, {}).get(needle, [])]
        if True not in verdicts:
            if None in verdicts:
                yield unknown(record, "the cache rule of this host")
            else:
                reason = next(
                    (v for v in verdicts if isinstance(v, str)), "no edge cache rule names this host"
                )
                yield violation(record, f"{host}: {reason}")
            continue
        if True not in stale:
            if None in stale:
                yield unknown(record, "the stale-if-error rule of this host")
            else:
                reason = next(
                    (v for v in stale if isinstance(v, str)), "no stale-if-error directive for its assets"
                )
                yield violation(record, f"{host}: {reason}: the origin's outage reaches the reader")
