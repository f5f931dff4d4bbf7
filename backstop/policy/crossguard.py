"""The CrossGuard policy pack: every registered backstop rule as a `pulumi_policy` policy named by its id.

Resource rules become `ResourceValidationPolicy`s (the engine's `Analyze`, one resource, at preview and
update), stack rules `StackValidationPolicy`s (`AnalyzeStack`, every resource, each finding reported with
the URN of the resource at fault). Both run the same rule code as `backstop plan` and `backstop check`.

How the Pulumi CLI runs this pack today (3.221 and later; read from pulumi/pulumi, see
`policies/PulumiPolicy.yaml`): there is no `pulumi-analyzer-policy-python` shim any more. The CLI asks its
bundled Python language host to `RunPlugin` the pack directory; the host waits for the engine's
`ConfigureStack`, sets `PULUMI_ORGANIZATION`, `PULUMI_PROJECT`, `PULUMI_STACK`, `PULUMI_DRY_RUN` and
`PULUMI_CONFIG`, activates the virtualenv of `PulumiPolicy.yaml` (`toolchain: pip`) and runs
`python -u -m pulumi.policy [--logtostderr] [-v=N] [--tracing URL] <engine> <absolute pack dir>` from the
pack directory. Its proxy answers `Handshake` and forwards `ConfigureStack` once `serve` has printed the port.
An `up` (pulumi/actions runs `up --skip-preview`) calls `AnalyzeStack` only after every step has executed,
so the workflows run a preview with this pack before each `up`: that preview is the gate.

What pulumi-policy 1.21 and the Pulumi CLI do, and what this module does about it:

* Properties reach a policy wrapped in an unknown-checking proxy: reading a value that is unknown at
  preview raises `UnknownValueError`, which the SDK turns into one *advisory* "can't run policy during
  preview" diagnostic. A mandatory rule would silently become advisory. We unwrap the proxy, so rules see
  the engine's sentinels as `UNKNOWN` and decide for themselves.
* A diagnostic's enforcement level is its policy's (the config's `enforcementLevel`, else the level the
  pack declares): one level per policy, never per finding. So definite findings are reported at the
  policy's level; findings that are *unknown* are reported at that level only when `unknownIsViolation` is
  set, and otherwise end the policy's run with `UnknownValueError`, which the SDK reports as advisory,
  naming every resource left undecided. An unknown never passes silently and, by default, never blocks:
  the same rule as `backstop.policy.core.level_of`.
* The declared level is the rule's level (`PolicyTargets.level_for`) in the environment of the stack the
  engine starts the pack for (`PULUMI_STACK`): mandatory in prod and in any stack not recognised as
  staging, advisory in staging unless the staging targets say otherwise. `--policy-pack-config` overrides.
* The CLI fills a policy's config from the `default`s of its schema and only takes `enforcementLevel` from
  an `all` section, so schemas carry no defaults (they would pin staging stacks to prod numbers); the
  defaults are written in each description. The environment comes from a policy's `environment` setting,
  else from the stack name in the URN (`environment_of_stack`).
* Before `Configure`, the CLI validates each policy's settings against `{"type": "object", "properties":
  <the schema sent here>, "required": [...]}` and stops with `<policy>: <key>: <reason>` on a wrong type,
  enum value, pattern or bound, which the schemas derived from `PolicyTargets` carry; object-valued settings
  also get `additionalProperties: false`. The Analyzer protocol's `PolicyConfigSchema` has no field for a
  top-level `additionalProperties`, so a misspelt *key* passes the CLI: the pack refuses it (and re-checks
  every value with the `PolicyTargets` model) with a one-line error naming the policy and the key.
* Waivers (`backstop-waivers.yaml` in the project directory, as `backstop plan` reads it): a finding a live
  waiver covers is not reported at the policy's level; it joins the run's advisory diagnostic (the only
  per-finding advisory channel the SDK has, the one unknowns use) as "waived", with its owner, ticket and
  expiry, so it is reported, never dropped. A finding an expired waiver covers is reported as usual, and
  its message says the waiver expired (`backstop.policy.suppressions` holds the matching).
* What `plan` says about the waivers themselves (expired, expiring within 14 days, matching no finding)
  needs the whole run: a pack with waivers declares one more policy, `backstop-waivers` (advisory, after
  every rule's), whose `AnalyzeStack` run reports those notes through the same advisory channel, one line
  each. The engine calls `Analyze` for every resource before `AnalyzeStack`, so by then `WaiverUse` knows
  every waiver that waived a finding of this run (resource rules in `Analyze`, stack rules just before);
  it starts afresh after each `AnalyzeStack`. A waiver whose rule the pack config disables waives nothing
  in the pack and is reported as matching nothing. The policy is declared (`GetAnalyzerInfo`) so the
  engine knows every policy a diagnostic names.

Long because each of these answers to one SDK contract (pulumi-policy's servicer, its proxy and its one
level per policy) and `fastpack.py` reuses every piece; split, each part would re-explain the others.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, cast

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy import Severity as PolicySeverity
from pulumi_policy.deserialize import serialize_properties
from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError, _DictProxy, _ListProxy

from backstop.config.waivers import Waiver
from backstop.ground import tokens
from backstop.ground.resources import Resource, name_of, stack_of
from backstop.policy.core import Finding, Rule, RuleRegistry, load_rules
from backstop.policy.packconfig import policy_settings, setting_fields
from backstop.policy.stackview import StackView
from backstop.policy.suppressions import justification, waiver_for, waiver_notes
from backstop.policy.targets import (
    Environment,
    LevelName,
    PolicyConfigError,
    PolicyTargets,
    environment_of_stack,
)

PACK_NAME = "backstop"
PACK_DESCRIPTION = (
    "Backup and disaster-recovery posture for MongoDB Atlas, AWS and Azure, held to the CARTIE backup "
    "strategy and the WiserReview Backup and Recovery policy."
)
_LEVELS: dict[LevelName, EnforcementLevel] = {
    "mandatory": EnforcementLevel.MANDATORY,
    "advisory": EnforcementLevel.ADVISORY,
    "disabled": EnforcementLevel.DISABLED,
}
_ENVIRONMENTS: tuple[Environment, ...] = ("prod", "staging")
WAIVERS_POLICY = "backstop-waivers"
WAIVERS_POLICY_DESCRIPTION = (
    "The reviewed exceptions of backstop-waivers.yaml: a waiver that has expired, expires within 14 days "
    "or matches no finding of this run (advisory)."
)


# --- config ---------------------------------------------------------------------------------------------


def _alias(field_name: str) -> str:
    field = PolicyTargets.model_fields[field_name]
    return field.alias or field_name


def _setting_fields(rule: Rule) -> list[str]:
    """The `PolicyTargets` fields a rule's policy takes (shared with the offline checker's reading)."""
    return setting_fields(rule)


def setting_names(rule: Rule) -> list[str]:
    """The camelCase config keys a rule's policy accepts."""
    return policy_settings(rule)


def _inline_refs(schema: Any, definitions: Mapping[str, Any]) -> Any:
    """The schema with every `$ref` replaced by its definition: the CLI validates each property alone."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            return _inline_refs(definitions[ref.removeprefix("#/$defs/")], definitions)
        return {k: _inline_refs(v, definitions) for k, v in schema.items() if k not in ("title", "default")}
    if isinstance(schema, list):
        return [_inline_refs(v, definitions) for v in schema]
    return schema


@functools.cache
def _model_schema() -> dict[str, Any]:
    return PolicyTargets.model_json_schema(by_alias=True)


@functools.cache
def _defaults(environment: Environment) -> dict[str, Any]:
    return PolicyTargets.for_environment(environment).model_dump(by_alias=True, mode="json")


def _json_text(value: Any) -> str:
    """A default as JSON, whole floats without a fraction (`7`, not `7.0`)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, list):
        return "[" + ", ".join(_json_text(v) for v in value) + "]"
    return json.dumps(value)


def _default_text(alias: str) -> str:
    prod, staging = _defaults("prod")[alias], _defaults("staging")[alias]
    text = f"Default: {_json_text(prod)}"
    return text + (f" in prod, {_json_text(staging)} in staging." if staging != prod else ".")


def _description(field_name: str) -> str:
    alias = _alias(field_name)
    if field_name == "environment":
        return (
            "Which targets to hold the stack to: 'prod' (the seeds' numbers) or 'staging'. Default: from the "
            "stack name (staging, stage, dev, test, qa, sandbox, staging*, drill* are staging; any other "
            "stack is prod)."
        )
    if field_name == "unknown_is_violation":
        return (
            "Count a value that is unknown at preview as a violation at this policy's level. Default: false "
            "(unknowns are reported as advisory)."
        )
    own = PolicyTargets.model_fields[field_name].description
    return (
        f"{own.rstrip('.')}. {_default_text(alias)}"
        if own
        else f"backstop target {alias}. {_default_text(alias)}"
    )


def _closed(schema: Any) -> Any:
    """The schema with `additionalProperties: false` on every object that does not say otherwise."""
    if isinstance(schema, dict):
        closed = {k: _closed(v) for k, v in schema.items()}
        if closed.get("type") == "object" and "properties" in closed:
            closed.setdefault("additionalProperties", False)
        return closed
    if isinstance(schema, list):
        return [_closed(v) for v in schema]
    return schema


def config_schema(rule: Rule) -> PolicyConfigSchema:
    """JSON schema of a policy's config, derived from the `PolicyTargets` fields the rule reads."""
    model_schema = _model_schema()
    definitions = model_schema.get("$defs", {})
    properties: dict[str, dict[str, Any]] = {}
    for field_name in _setting_fields(rule):
        alias = _alias(field_name)
        schema = _closed(_inline_refs(model_schema["properties"][alias], definitions))
        schema["description"] = _description(field_name)
        properties[alias] = schema
    return PolicyConfigSchema(properties=properties)


def targets_for(
    rule: Rule, config: Mapping[str, Any], stack: str, inventory: Mapping[str, Any] | None = None
) -> PolicyTargets:
    """The targets one policy runs with: its environment's defaults, the prod inventory, then its config."""
    source = f"policy pack config of {rule.id}"
    allowed = setting_names(rule)
    for key in config:
        if key != "enforcementLevel" and key not in allowed:
            raise PolicyConfigError(
                f"{source}: {key}: is not a setting of this policy (it takes {', '.join(allowed)})"
            )
    environment = config.get("environment")
    if environment is None:
        environment = environment_of_stack(stack)
    elif environment not in _ENVIRONMENTS:
        raise PolicyConfigError(f"{source}: environment: must be 'prod' or 'staging' (got {environment!r})")
    targets = PolicyTargets.for_environment(cast(Environment, environment))
    if inventory:
        targets = targets.with_config(inventory, "Pulumi.prod.yaml")
    return targets.with_config(config, source)


# --- resources ------------------------------------------------------------------------------------------


def _plain_props(props: Mapping[str, Any]) -> dict[str, Any]:
    """The properties out of pulumi_policy's unknown-checking proxy, sentinels left in for `normalize`."""
    plain = _unwrap(props)
    return plain if isinstance(plain, dict) else dict(serialize_properties(props))


def _unwrap(value: Any) -> Any:
    """`serialize_properties` for what the engine sends (JSON values in the SDK's list and dict proxies),
    without its chain of asset and archive checks on every value: `AnalyzeStack` converts every resource
    once per stack policy. Anything else (assets, archives) goes through the SDK's own function."""
    kind = type(value)
    if kind is _DictProxy:
        return {k: _unwrap(v) for k, v in value["__target"].items()}
    if kind is _ListProxy:
        return [_unwrap(v) for v in value["__target"]]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    if kind is dict:
        return {k: _unwrap(v) for k, v in value.items()}
    if kind is list:
        return [_unwrap(v) for v in value]
    return serialize_properties(value)


def _is_custom(type_: str) -> bool:
    return type_ != tokens.STACK and type_ not in tokens.COMPONENTS


def resource_from_args(args: ResourceValidationArgs) -> Resource:
    """The resource of an `Analyze` call, as every rule sees resources."""
    return Resource.build(
        urn=args.urn,
        type=args.resource_type,
        name=args.name,
        props=_plain_props(args.props),
        protect=bool(args.opts.protect),
        parent=args.opts.parent,
        provider=args.provider.urn if args.provider else None,
        custom=_is_custom(args.resource_type),
    )


def resource_from_policy_resource(resource: PolicyResource) -> Resource:
    """One resource of an `AnalyzeStack` call (its outputs, parent, dependencies), as rules see it."""
    parent = resource.parent.urn if resource.parent is not None else resource.opts.parent
    return Resource.build(
        urn=resource.urn,
        type=resource.resource_type,
        name=resource.name,
        props=_plain_props(resource.props),
        protect=bool(resource.opts.protect),
        parent=parent,
        provider=resource.provider.urn if resource.provider else None,
        dependencies=[d.urn for d in resource.dependencies],
        property_dependencies={k: [d.urn for d in v] for k, v in resource.property_dependencies.items()},
        custom=_is_custom(resource.resource_type),
    )


# --- reporting ------------------------------------------------------------------------------------------


class WaiverUse:
    """The pack's waivers and which of them waived a finding since the last `AnalyzeStack` (by index):
    shared by every policy of one pack, `Analyze` calls on several threads included."""

    def __init__(self, waivers: Sequence[Waiver]) -> None:
        self.waivers = tuple(waivers)
        self._used: set[int] = set()
        self._lock = threading.Lock()

    def mark(self, index: int) -> None:
        with self._lock:
            self._used.add(index)

    def take(self) -> set[int]:
        """The waivers used so far, forgotten: the next run starts afresh."""
        with self._lock:
            used, self._used = self._used, set()
        return used


def check_waivers(use: WaiverUse, today: dt.date | None = None) -> None:
    """The `backstop-waivers` policy's run, at the end of `AnalyzeStack`: `plan`'s notes on the waivers
    (expired, expiring, matching nothing), one line each, as the run's advisory diagnostic."""
    notes = waiver_notes(use.waivers, use.take(), today or dt.datetime.now(dt.UTC).date())
    if notes:
        error = UnknownValueError(UNKNOWN_STRING_VALUE, [])
        error.message = "\n".join(text for _, text in notes)
        raise error


def report(
    rule: Rule,
    findings: Iterable[Finding],
    targets: PolicyTargets,
    report_violation: ReportViolation,
    waivers: Sequence[Waiver] | WaiverUse = (),
    today: dt.date | None = None,
) -> None:
    """Report definite findings at the policy's level; unknown and waived ones as described in the module
    docstring. With a `WaiverUse`, each waiver that waives a finding is marked as used."""
    use = waivers if isinstance(waivers, WaiverUse) else None
    entries = use.waivers if use is not None else cast(Sequence[Waiver], waivers)
    undecided: list[Finding] = []
    waived: list[tuple[Finding, Waiver]] = []
    today = today or dt.datetime.now(dt.UTC).date()
    for finding in findings:
        live, lapsed = waiver_for(entries, rule.id, finding.urn, today) if entries else (None, None)
        if live is not None:
            waived.append((finding, entries[live]))
            if use is not None:
                use.mark(live)
            continue
        if finding.unknown and not targets.unknown_is_violation:
            undecided.append(finding)
            continue
        suffix = " (an unknown value counts as a violation: unknownIsViolation)" if finding.unknown else ""
        if lapsed is not None:
            suffix += (
                f" (the waiver {lapsed.ticket} expired on {lapsed.expires.isoformat()}: it no longer applies)"
            )
        report_violation(
            f"{finding.message}{suffix}\nRemediation: {rule.remediation_for(targets)}", finding.urn
        )
    if undecided or waived:
        parts = []
        if undecided:
            parts.append(
                "; ".join(f"{name_of(f.urn)}: {f.message}" for f in undecided)
                + " (advisory; set unknownIsViolation to count it as a violation) ["
                + ", ".join(dict.fromkeys(f.urn for f in undecided))
                + "]"
            )
        if waived:
            parts.append(
                "waived, not failing: "
                + "; ".join(f"{name_of(f.urn)}: {f.message} (waiver: {justification(w)})" for f, w in waived)
                + " ["
                + ", ".join(dict.fromkeys(f.urn for f, _ in waived))
                + "]"
            )
        error = UnknownValueError(UNKNOWN_STRING_VALUE, [])
        error.message = "; ".join(parts)
        raise error


_views = threading.local()


def _shared_view(resources: list[Resource]) -> StackView:
    """One `StackView` (and its indexes) for every stack policy of one `AnalyzeStack`: the SDK hands each
    policy its own copy of the same resources, so the last view is reused while the resources are equal
    (compared in full, so a later call with any other resource or value gets a new view). Per thread, as
    the pack's gRPC server may run calls on several."""
    last: tuple[list[Resource], StackView] | None = getattr(_views, "last", None)
    if last is not None and last[0] == resources:
        return last[1]
    view = StackView(resources)
    _views.last = (resources, view)
    return view


class _TargetsCache:
    """`targets_for` of one policy, kept per (config, stack): the engine sends `Analyze` once per resource
    with the same config, and validating it with `PolicyTargets` every time cost more than the rules.
    `PolicyTargets` is frozen, so sharing one is safe; a config that fails validation is not kept and
    fails again on the next call."""

    LIMIT = 64

    def __init__(self, rule: Rule, inventory: Mapping[str, Any]) -> None:
        self.rule = rule
        self.inventory = inventory
        self.kept: dict[tuple[str, str], PolicyTargets] = {}

    def __call__(self, config: Mapping[str, Any], stack: str) -> PolicyTargets:
        key = (json.dumps(config, sort_keys=True, default=repr), stack)
        targets = self.kept.get(key)
        if targets is None:
            targets = targets_for(self.rule, config, stack, self.inventory)
            if len(self.kept) >= self.LIMIT:
                self.kept.clear()
            self.kept[key] = targets
        return targets


def _resource_validation(
    rule: Rule, inventory: Mapping[str, Any], waivers: Sequence[Waiver] | WaiverUse = ()
) -> Callable[..., None]:
    targets_of = _TargetsCache(rule, inventory)

    def validate(args: ResourceValidationArgs, report_violation: ReportViolation) -> None:
        if args.resource_type not in rule.resource_types:
            return
        targets = targets_of(args.get_config(), stack_of(args.urn))
        report(rule, rule.run(resource_from_args(args), targets), targets, report_violation, waivers)

    return validate


def _stack_validation(
    rule: Rule, inventory: Mapping[str, Any], waivers: Sequence[Waiver] | WaiverUse = ()
) -> Callable[..., None]:
    targets_of = _TargetsCache(rule, inventory)

    def validate(args: StackValidationArgs, report_violation: ReportViolation) -> None:
        resources = [resource_from_policy_resource(r) for r in args.resources]
        stack = next((r.stack for r in resources if r.stack), "")
        targets = targets_of(args.get_config(), stack)
        report(rule, rule.run(_shared_view(resources), targets), targets, report_violation, waivers)

    return validate


# --- the pack -------------------------------------------------------------------------------------------


def declared_targets(stack: str) -> PolicyTargets:
    """The defaults of the stack the engine starts the pack for ('' when unknown, as at publish: prod)."""
    return PolicyTargets.for_environment(environment_of_stack(stack) if stack else "prod")


def declared_levels(stack: str, registry: Iterable[Rule]) -> dict[str, EnforcementLevel]:
    """The level each policy declares: mandatory for prod, advisory for staging, unless configured."""
    targets = declared_targets(stack)
    return {rule.id: _LEVELS[targets.level_for(rule.id)] for rule in registry}


def build_policies(
    registry: RuleRegistry | None = None,
    *,
    stack: str = "",
    inventory: Mapping[str, Any] | None = None,
    waivers: Sequence[Waiver] = (),
    use: WaiverUse | None = None,
) -> list[Policy]:
    """One policy per registered rule, named by the rule id, in id order; with waivers (or `use`, which
    holds them), the `backstop-waivers` policy last."""
    rules: Sequence[Rule] = list(registry or load_rules())
    if use is None and waivers:
        use = WaiverUse(waivers)
    levels = declared_levels(stack, rules)
    defaults = declared_targets(stack)
    held: Sequence[Waiver] | WaiverUse = use if use is not None else ()
    policies: list[Policy] = []
    for rule in rules:
        common: dict[str, Any] = {
            "name": rule.id,
            "description": rule.description,
            "enforcement_level": levels[rule.id],
            "config_schema": config_schema(rule),
            "severity": PolicySeverity(rule.severity.value),
            # The pack's declared defaults; each violation's message states the configured target.
            "remediation_steps": rule.remediation_for(defaults),
        }
        if rule.scope == "resource":
            policies.append(
                ResourceValidationPolicy(validate=_resource_validation(rule, inventory or {}, held), **common)
            )
        else:
            policies.append(
                StackValidationPolicy(validate=_stack_validation(rule, inventory or {}, held), **common)
            )
    if use is not None and use.waivers:
        policies.append(waivers_policy(use))
    return policies


def waivers_policy(use: WaiverUse) -> StackValidationPolicy:
    """`backstop-waivers`: declared advisory, no settings; its notes are advisory whatever its level."""

    def validate(_args: StackValidationArgs, _report_violation: ReportViolation) -> None:
        check_waivers(use)

    return StackValidationPolicy(
        name=WAIVERS_POLICY,
        description=WAIVERS_POLICY_DESCRIPTION,
        validate=validate,
        enforcement_level=EnforcementLevel.ADVISORY,
        config_schema=PolicyConfigSchema(properties={}),
        severity=PolicySeverity.LOW,
        remediation_steps="Renew an expiring waiver in review, or fix its findings; remove a waiver that "
        "matches nothing, or correct its rule or URN.",
    )
