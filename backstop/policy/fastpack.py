"""The pack's gRPC servicer: the SDK's answers, at the speed of `backstop check`.

pulumi-policy 1.21's `_PolicyAnalyzerServicer` converts a resource's protobuf `Struct` with `MessageToDict`,
deserializes it and wraps it in its unknown-checking proxy once *per policy*: `Analyze` does it for every
resource policy (even one whose rule ignores the resource's type) and `AnalyzeStack` for every resource
once per stack policy, building `PolicyResource`s that `crossguard` then converts again. On a
5,000-resource stack that was 25 conversions of every resource per call, nearly all of the pack's time.

`FastAnalyzer` subclasses that servicer (the SDK is pinned ==1.21.0; `tests/test_crossguard.py` drives the
served pack over the engine's protocol and `tests/test_fastpack.py` holds its answers to the SDK's) and
overrides only `Analyze`, `AnalyzeStack` and `Configure`:

* each request's properties are converted once, straight into backstop `Resource`s, by a walk that gives
  what `MessageToDict` + `deserialize_properties` + `crossguard._unwrap` give (floats for numbers, the
  same error on NaN or infinity, secrets unwrapped, assets and archives through the SDK's own functions);
* `Analyze` runs only the resource rules whose types include the resource's type, in the pack's policy
  order; `AnalyzeStack` builds one `StackView` per call for every stack policy;
* each policy's targets are validated once per `Configure` and stack (a bad config is never kept, so it
  fails every call that reads it, as before);
* diagnostics, enforcement levels (the configured level, else the declared one; remediate reported as
  mandatory; disabled skipped), the "can't run policy ... during preview" advisory and the config errors
  are the SDK's, made by its own `_create_report_violation` and the same `crossguard.report`;
* with waivers, the `backstop-waivers` policy runs last in `AnalyzeStack`, as the SDK runs it
  (`crossguard.check_waivers` over the same `WaiverUse`).

The pulumi runtime settings the SDK re-reads from the environment on every call are read on the first.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import empty_pb2
from pulumi.runtime import proto
from pulumi.runtime.proto import analyzer_pb2_grpc
from pulumi_policy import EnforcementLevel, Policy
from pulumi_policy.deserialize import SPECIAL_SECRET_SIG, SPECIAL_SIG_KEY, _deserialize_property
from pulumi_policy.policy import _GRPC_CHANNEL_OPTIONS, _ONE_DAY_IN_SECONDS, _PolicyAnalyzerServicer
from pulumi_policy.proxy import UnknownValueError

from backstop.config.waivers import Waiver
from backstop.ground.resources import _UNKNOWN_STRINGS, UNKNOWN, Resource, name_of, normalize, stack_of
from backstop.policy.core import Rule, RuleRegistry, load_rules
from backstop.policy.crossguard import (
    _LEVELS,
    PACK_DESCRIPTION,
    PACK_NAME,
    WAIVERS_POLICY,
    WaiverUse,
    _is_custom,
    _unwrap,
    build_policies,
    check_waivers,
    declared_targets,
    report,
    targets_for,
)
from backstop.policy.stackview import StackView
from backstop.policy.suppressions import pack_waivers
from backstop.policy.targets import PolicyTargets, prod_inventory

# What `PolicyPack` sends as its version (the CLI takes the one in PulumiPolicy.yaml).
PACK_VERSION = "0.0.1"

# --- properties: protobuf Struct -> the values crossguard's SDK path gave, normalized -------------------


def _number(value: Any) -> float:
    number: float = value.number_value
    if math.isinf(number) or math.isnan(number):  # `MessageToDict` refuses them, so the SDK's call fails
        raise ValueError(
            f"Fail to serialize {'NaN' if math.isnan(number) else 'Infinity'} for Value.number_value, "
            "which would parse as string_value"
        )
    return number


def _raw(value: Any) -> Any:
    """One `google.protobuf.Value` as `MessageToDict` gives it (numbers as floats, null as None)."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        return value.string_value
    if kind == "struct_value":
        fields = value.struct_value.fields
        return {key: _raw(fields[key]) for key in fields}
    if kind == "number_value":
        return _number(value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_raw(v) for v in value.list_value.values[:]]  # a slice is one C call; iterating is many
    return None


def _value(value: Any) -> Any:
    """One `Value` as `Resource.build` normalized what the SDK path gave: `_raw`, then
    `deserialize_properties`, then `crossguard._unwrap`, then `normalize`, in one walk."""
    kind = value.WhichOneof("kind")
    if kind == "string_value":
        text = value.string_value
        return UNKNOWN if text in _UNKNOWN_STRINGS else text
    if kind == "struct_value":
        return _map(value.struct_value)
    if kind == "number_value":
        return _number(value)
    if kind == "bool_value":
        return value.bool_value
    if kind == "list_value":
        return [_value(v) for v in value.list_value.values[:]]
    return None


def _map(struct: Any) -> Any:
    """A `Struct` inside the properties as the normalized values rules see. A map holding the engine's
    signature key is a secret (its value is used), or an asset or archive, which goes through the SDK's own
    `_deserialize_property` (so a malformed one fails as it did) and back to its serialized form, then
    `normalize`."""
    fields = struct.fields
    if SPECIAL_SIG_KEY in fields:
        if _raw(fields[SPECIAL_SIG_KEY]) == SPECIAL_SECRET_SIG and "value" in fields:
            return _value(fields["value"])
        raw = {key: _raw(fields[key]) for key in fields}
        return normalize(_unwrap(_deserialize_property(raw)))
    return {key: _value(fields[key]) for key in fields}


def props_of(struct: Any) -> Any:
    """A resource's properties. The SDK deserializes only the values of the top-level map, so a signature
    key there is left to `normalize`, as `Resource.build` did."""
    fields = struct.fields
    props = {key: _value(fields[key]) for key in fields}
    return normalize(props) if SPECIAL_SIG_KEY in props else props


def _resource(
    message: Any,
    props: Any,
    *,
    parent: str | None,
    dependencies: Sequence[str] = (),
    property_dependencies: Mapping[str, Sequence[str]] | None = None,
) -> Resource:
    """`Resource.build` for props that `props_of` has already normalized (build would walk them again)."""
    type_ = message.type
    urn = message.urn
    return Resource(
        urn=urn,
        type=type_,
        props=props,
        name=message.name or name_of(urn),
        protect=bool(message.options.protect),
        parent=parent or None,
        provider=(message.provider.urn or None) if message.HasField("provider") else None,
        dependencies=tuple(dependencies),
        property_dependencies={k: tuple(v) for k, v in (property_dependencies or {}).items()},
        custom=_is_custom(type_),
    )


def _check_provider(message: Any) -> None:
    """The SDK converts the provider's properties too (and fails on a malformed one): so do we."""
    if message.HasField("provider"):
        props_of(message.provider.properties)


def resource_of_analyze(request: Any) -> Resource:
    """The resource of an `AnalyzeRequest`, as `crossguard.resource_from_args` made it."""
    _check_provider(request)
    props = props_of(request.properties)
    return _resource(request, props, parent=request.options.parent or None)


def resources_of_stack(request: Any) -> list[Resource]:
    """The resources of an `AnalyzeStackRequest`, as `crossguard.resource_from_policy_resource` made them
    from the SDK's `PolicyResource`s: a parent, dependency or property dependency that names no resource
    of the stack is dropped (the parent then comes from the resource options, as the SDK leaves it)."""
    messages = request.resources
    urns = {m.urn for m in messages}
    resources: list[Resource] = []
    for m in messages:
        _check_provider(m)
        props = props_of(m.properties)
        parent = m.parent if m.parent in urns else (m.options.parent or None)
        resources.append(
            _resource(
                m,
                props,
                parent=parent,
                dependencies=[d for d in m.dependencies if d in urns],
                property_dependencies={
                    k: [d for d in v.urns if d in urns] for k, v in m.propertyDependencies.items()
                },
            )
        )
    return resources


# --- the servicer ---------------------------------------------------------------------------------------


class FastAnalyzer(_PolicyAnalyzerServicer):
    """The SDK's servicer for the pack `build_policies` makes, with `Analyze` and `AnalyzeStack` that convert
    each request once and run only the rules that can speak about it."""

    def __init__(
        self,
        policies: list[Policy],
        rules: Sequence[Rule],
        inventory: Mapping[str, Any],
        enforcement_level: EnforcementLevel,
        description: str | None = PACK_DESCRIPTION,
        waivers: Sequence[Waiver] | WaiverUse = (),
    ) -> None:
        super().__init__(PACK_NAME, PACK_VERSION, policies, enforcement_level, None, description)
        self._waivers: Sequence[Waiver] | WaiverUse = (
            waivers if isinstance(waivers, WaiverUse) else tuple(waivers)
        )
        by_id = {rule.id: rule for rule in rules}
        self._waivers_policy: Policy | None = None
        if policies and policies[-1].name == WAIVERS_POLICY and isinstance(waivers, WaiverUse):
            self._waivers_policy, policies = policies[-1], policies[:-1]
        if [p.name for p in policies] != [r.id for r in rules]:
            raise ValueError(
                "FastAnalyzer needs one policy per rule, named by the rule id, in rule order (and, with a "
                f"WaiverUse, {WAIVERS_POLICY} last)"
            )
        self._inventory = inventory
        self._resource_policies: dict[str, list[tuple[Policy, Rule]]] = {}
        self._stack_policies: list[tuple[Policy, Rule]] = []
        self._any_resource_policy = False
        for policy in policies:
            rule = by_id[policy.name]
            if rule.scope == "resource":
                self._any_resource_policy = True
                for type_ in sorted(rule.resource_types):
                    self._resource_policies.setdefault(type_, []).append((policy, rule))
            else:
                self._stack_policies.append((policy, rule))
        self._kept: dict[tuple[str, str], PolicyTargets] = {}
        self._settings_lock = threading.Lock()
        self._settings_done = False

    # -- what the SDK does on every call, done once --

    def _runtime_settings_once(self) -> None:
        if not self._settings_done:
            with self._settings_lock:
                if not self._settings_done:
                    self._configure_runtime_settings()
                    self._settings_done = True

    def Configure(self, request: Any, _context: Any) -> empty_pb2.Empty:
        answer = super().Configure(request, _context)
        self._kept = {}  # targets follow the new config
        return answer

    def _targets(self, rule: Rule, stack: str) -> PolicyTargets:
        kept = self._kept
        targets = kept.get((rule.id, stack))
        if targets is None:
            config = self._get_policy_config(rule.id) or {}
            targets = targets_for(rule, config, stack, self._inventory)
            kept[(rule.id, stack)] = targets
        return targets

    def _level(self, policy: Policy) -> EnforcementLevel | None:
        """The level a diagnostic of `policy` is reported at; None when the policy is disabled."""
        level = self._get_enforcement_level(policy)
        if level == EnforcementLevel.DISABLED:
            return None
        return EnforcementLevel.MANDATORY if level == EnforcementLevel.REMEDIATE else level

    def _run(
        self,
        response: Any,
        policy: Policy,
        rule: Rule,
        level: EnforcementLevel,
        subject: Resource | StackView,
        stack: str,
    ) -> None:
        targets = self._targets(rule, stack)
        report_violation = self._create_report_violation(
            response, policy.name, policy.description, level, policy.severity
        )
        try:
            report(rule, rule.run(subject, targets), targets, report_violation, self._waivers)
        except UnknownValueError as error:
            self._advisory(response, policy, error)

    def _advisory(self, response: Any, policy: Policy, error: UnknownValueError) -> None:
        """The SDK's diagnostic for a policy whose run ended with `UnknownValueError`."""
        name, version = PACK_NAME, PACK_VERSION
        response.diagnostics.append(
            proto.AnalyzeDiagnostic(
                policyName=policy.name,
                policyPackName=name,
                policyPackVersion=version,
                message=(
                    f"can't run policy '{policy.name}' from policy pack '{name}@v{version}' during "
                    f"preview: {error.message}"
                ),
                urn="",
                description=policy.description,
                enforcementLevel=self._map_enforcement_level(EnforcementLevel.ADVISORY),
            )
        )

    # -- the engine's calls --

    def Analyze(self, request: Any, _context: Any) -> Any:
        self._runtime_settings_once()
        response = proto.AnalyzeResponse()
        enabled = [
            (policy, rule, level)
            for policy, rule in self._resource_policies.get(request.type, ())
            if (level := self._level(policy)) is not None
        ]
        if not enabled:
            if self._any_resource_policy:
                resource_of_analyze(request)  # the SDK converts (and can refuse) every resource
            return response
        resource = resource_of_analyze(request)
        stack = stack_of(request.urn)
        for policy, rule, level in enabled:
            self._run(response, policy, rule, level, resource, stack)
        return response

    def AnalyzeStack(self, request: Any, _context: Any) -> Any:
        self._runtime_settings_once()
        response = proto.AnalyzeResponse()
        enabled = [
            (policy, rule, level)
            for policy, rule in self._stack_policies
            if (level := self._level(policy)) is not None
        ]
        waivers = self._waivers_policy
        check = waivers is not None and self._level(waivers) is not None
        if not enabled and not check:
            return response
        resources = resources_of_stack(request)  # the SDK converts them for every enabled stack policy
        stack = next((r.stack for r in resources if r.stack), "")
        view = StackView(resources)
        for policy, rule, level in enabled:
            self._run(response, policy, rule, level, view, stack)
        if check and waivers is not None and isinstance(self._waivers, WaiverUse):
            try:
                check_waivers(self._waivers)
            except UnknownValueError as error:
                self._advisory(response, waivers, error)
        return response


def fast_servicer(
    registry: RuleRegistry | None = None,
    *,
    stack: str = "",
    inventory: Mapping[str, Any] | None = None,
    waivers: Sequence[Waiver] = (),
) -> FastAnalyzer:
    """The servicer `serve` runs: the policies of `build_policies` and the same rules, for `stack`, with the
    project's reviewed waivers."""
    rules = list(registry or load_rules())
    use = WaiverUse(waivers)
    policies = build_policies(registry, stack=stack, inventory=inventory, use=use)
    return FastAnalyzer(
        policies,
        rules,
        inventory or {},
        _LEVELS[declared_targets(stack).enforcement],
        PACK_DESCRIPTION,
        use,
    )


def serve(project_dir: Path) -> None:
    """Serve the pack over gRPC (prints the port, then blocks): what `policies/__main__.py` runs.

    The server is `PolicyPack`'s (four worker threads, the same message size limit, a port on 127.0.0.1
    printed on stdout); only the servicer differs. `PULUMI_STACK` is set by the engine for the stack being
    previewed or updated; `Pulumi.prod.yaml` of `project_dir` names the prod clusters and projects that no
    restore may target, and its `backstop-waivers.yaml` the reviewed exceptions.
    """
    stack = os.environ.get("PULUMI_STACK", "").rsplit("/", 1)[-1]
    waivers = pack_waivers(project_dir, load_rules().ids())
    servicer = fast_servicer(stack=stack, inventory=prod_inventory(project_dir), waivers=waivers)
    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=_GRPC_CHANNEL_OPTIONS)
    analyzer_pb2_grpc.add_AnalyzerServicer_to_server(servicer, server)
    port = server.add_insecure_port(address="127.0.0.1:0")
    server.start()
    sys.stdout.buffer.write(f"{port}\n".encode())
    sys.stdout.buffer.flush()
    try:
        while True:
            time.sleep(_ONE_DAY_IN_SECONDS)
    except KeyboardInterrupt:
        server.stop(0)
