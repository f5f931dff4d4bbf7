"""The pack's fast servicer answers exactly as pulumi-policy's own servicer does, on the same requests.

`backstop.policy.fastpack.FastAnalyzer` replaces the SDK's `Analyze` and `AnalyzeStack` (which convert every
resource once per policy) with one conversion per request. Here both servicers, built from the same
policies, get the same `Configure`, `Analyze` and `AnalyzeStack` requests in process, and every response
must be equal field for field (diagnostics in order, messages, levels, severities, URNs, not-applicable
entries), every refused config refused with the same error, and every resource the rules see equal, value
types included, to what `crossguard` made of the SDK's `ResourceValidationArgs` and `PolicyResource`s.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest
from google.protobuf import empty_pb2
from pulumi.runtime.proto import analyzer_pb2
from pulumi_policy import (
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.policy import _PolicyAnalyzerServicer

from backstop.config.waivers import Waiver
from backstop.ground import tokens
from backstop.ground.resources import SECRET_SIG, SECRET_SIG_KEY, UNKNOWN, Resource
from backstop.policy.core import load_rules
from backstop.policy.crossguard import (
    _LEVELS,
    PACK_DESCRIPTION,
    PACK_NAME,
    WAIVERS_POLICY,
    build_policies,
    declared_targets,
    resource_from_args,
    resource_from_policy_resource,
)
from backstop.policy.fastpack import (
    PACK_VERSION,
    FastAnalyzer,
    fast_servicer,
    resource_of_analyze,
    resources_of_stack,
)
from backstop.policy.targets import PolicyConfigError, prod_inventory
from backstop.program.mocks import ProgramRun
from tests.policy_support import mutate, named, without
from tests.test_crossguard import (
    RELEASE_LOCK,
    Secret,
    analyze_requests,
    analyze_stack_request,
    configure,
    policy_file,
)

ROOT = Path(__file__).resolve().parent.parent


class _InProcessStub:
    """What `test_crossguard.configure` calls on a gRPC stub, answered by a servicer in this process."""

    def __init__(self, servicer: Any) -> None:
        self.servicer = servicer

    def __getattr__(self, method: str) -> Callable[[Any], Any]:
        return lambda request: getattr(self.servicer, method)(request, None)


@dataclass
class InProcess:
    stub: _InProcessStub
    stack: str


@dataclass
class Both:
    sdk: InProcess
    fast: InProcess

    def configure(self, file_config: Any = None, every: Any = None, *, as_the_cli: bool = True) -> None:
        for pack in (self.sdk, self.fast):
            configure(pack, file_config, every, as_the_cli=as_the_cli)  # type: ignore[arg-type]


def _sdk_servicer(stack: str, waivers: Sequence[Waiver] = ()) -> _PolicyAnalyzerServicer:
    """The servicer `PolicyPack(...)` built for this pack before: same policies, level and description."""
    policies = build_policies(stack=stack, inventory=prod_inventory(ROOT), waivers=waivers)
    level = _LEVELS[declared_targets(stack).enforcement]
    return _PolicyAnalyzerServicer(PACK_NAME, PACK_VERSION, policies, level, None, PACK_DESCRIPTION)


def both(stack: str, waivers: Sequence[Waiver] = ()) -> Both:
    return Both(
        InProcess(_InProcessStub(_sdk_servicer(stack, waivers)), stack),
        InProcess(
            _InProcessStub(fast_servicer(stack=stack, inventory=prod_inventory(ROOT), waivers=waivers)),
            stack,
        ),
    )


def _answers(pack: InProcess, resources: Sequence[Resource]) -> list[Any]:
    each = [pack.stub.Analyze(request) for request in analyze_requests(resources)]
    return [*each, pack.stub.AnalyzeStack(analyze_stack_request(resources))]


def assert_same_answers(pair: Both, resources: Sequence[Resource]) -> list[Any]:
    """Every `Analyze` response and the `AnalyzeStack` response of the two servicers are equal."""
    sdk, fast = _answers(pair.sdk, resources), _answers(pair.fast, resources)
    assert len(sdk) == len(fast) == len(resources) + 1
    for resource, expected, got in zip([*resources, None], sdk, fast, strict=True):
        assert got == expected, resource.urn if resource else "AnalyzeStack"
    return sdk


def diagnostics(answers: Sequence[Any]) -> list[tuple[str, str, int]]:
    return [(d.policyName, d.urn, d.enforcementLevel) for a in answers for d in a.diagnostics]


def _broken_prod(resources: Sequence[Resource]) -> list[Resource]:
    broken = mutate(resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    broken = mutate(broken, "atlas-cartie-prod", {"pitEnabled": False})
    return without(broken, "messaging-dead-letter-alert")


# --- the answers --------------------------------------------------------------------------------------


def test_a_broken_prod_stack_gets_the_same_diagnostics_under_every_config(prod_run: ProgramRun) -> None:
    broken = _broken_prod(prod_run.resources)
    pair = both("prod")
    seen = []
    for file_config, every in (
        (None, None),
        (policy_file("prod.json"), None),
        (policy_file("staging.json"), None),
        ({"all": "mandatory", "atlas-pitr-window": {"minRestoreWindowDays": 14}}, None),
        ({"all": "remediate"}, None),
        (policy_file("prod.json"), {"environment": "staging"}),
    ):
        pair.configure(file_config, every)
        seen.append(diagnostics(assert_same_answers(pair, broken)))
    cluster, bucket = named(broken, "atlas-cartie-prod").urn, named(broken, "media").urn
    mandatory, advisory = analyzer_pb2.MANDATORY, analyzer_pb2.ADVISORY
    assert ("atlas-cloud-backup-enabled", cluster, mandatory) in seen[1]
    assert ("s3-versioning-enabled", bucket, advisory) in seen[2]
    assert ("atlas-pitr-window", named(broken, "atlas-cartie-prod-backup-schedule").urn, mandatory) in seen[3]
    assert ("s3-versioning-enabled", bucket, mandatory) in seen[4]  # remediate is reported as mandatory


def test_a_waived_finding_is_advisory_alike_and_an_expired_one_waives_nothing(prod_run: ProgramRun) -> None:
    """The reviewed waivers `serve` reads reach the fast servicer as they reach the SDK's policies."""
    broken = _broken_prod(prod_run.resources)
    cluster, bucket = named(broken, "atlas-cartie-prod").urn, named(broken, "media").urn
    today = dt.date.today()

    def waiver(rule: str, urn: str, days: int) -> Waiver:
        return Waiver.model_validate(
            {
                "rule": rule,
                "urn": urn,
                "owner": "platform@example.com",
                "ticket": f"RISK-{days}",
                "reason": "migration in flight",
                "expires": (today + dt.timedelta(days=days)).isoformat(),
            }
        )

    live = waiver("atlas-cloud-backup-enabled", "*::atlas-cartie-prod", 30)
    lapsed = waiver("s3-versioning-enabled", "*::media", -2)
    unwaived, waived = both("prod"), both("prod", (live, lapsed))
    for pair in (unwaived, waived):
        pair.configure(policy_file("prod.json"))
    before = diagnostics(assert_same_answers(unwaived, broken))
    answers = assert_same_answers(waived, broken)
    after = diagnostics(answers)
    mandatory = analyzer_pb2.MANDATORY
    assert ("atlas-cloud-backup-enabled", cluster, mandatory) in before
    assert ("atlas-cloud-backup-enabled", cluster, mandatory) not in after
    assert ("s3-versioning-enabled", bucket, mandatory) in before
    assert ("s3-versioning-enabled", bucket, mandatory) in after  # the expired waiver no longer applies
    messages = [d.message for a in answers for d in a.diagnostics]
    assert any("waived, not failing: atlas-cartie-prod: " in m and "RISK-30" in m for m in messages)
    assert any("the waiver RISK--2 expired on" in m for m in messages)


def _waiver(rule: str, urn: str, days: int) -> Waiver:
    today = dt.datetime.now(dt.UTC).date()
    return Waiver.model_validate(
        {
            "rule": rule,
            "urn": urn,
            "owner": "platform@example.com",
            "ticket": f"RISK-{days}",
            "reason": "migration in flight",
            "expires": (today + dt.timedelta(days=days)).isoformat(),
        }
    )


def _waiver_notes(answers: Sequence[Any]) -> list[str]:
    """The `backstop-waivers` diagnostics: advisory, no URN, each line the waiver's index and its state."""
    found = [d for a in answers for d in a.diagnostics if d.policyName == WAIVERS_POLICY]
    assert all((d.urn, d.enforcementLevel) == ("", analyzer_pb2.ADVISORY) for d in found)
    prefix = (
        f"can't run policy '{WAIVERS_POLICY}' from policy pack 'backstop@v{PACK_VERSION}' during preview: "
    )
    assert all(d.message.startswith(prefix) for d in found)
    kinds = {") expires on ": "expiring", ") expired on ": "expired", ") matches no finding": "unmatched"}
    return [
        f"{line.split(' (')[0]} {next(kind for text, kind in kinds.items() if text in line)}"
        for d in found
        for line in d.message.removeprefix(prefix).splitlines()
    ]


def test_the_pack_warns_of_expiring_waivers_and_reports_those_matching_nothing_alike(
    prod_run: ProgramRun,
) -> None:
    """What `plan` says about the waivers themselves, said by both servicers at the end of `AnalyzeStack`,
    under the `backstop-waivers` policy they declare: expiring within 14 days (14 included) for a resource
    rule (used in `Analyze`) and a stack rule (used in `AnalyzeStack`), expired, and matching nothing."""
    broken = _broken_prod(prod_run.resources)
    waivers = (
        _waiver("atlas-cloud-backup-enabled", "*::atlas-cartie-prod", 14),  # 0: expiring, resource rule
        _waiver("s3-versioning-enabled", "*::media", 3),  # 1: expiring, stack rule
        _waiver("servicebus-dead-letter-alert", "*", 15),  # 2: used, 15 days left: quiet
        _waiver("kms-key-rotation", "*", 60),  # 3: every key rotates: matches nothing
        _waiver("acr-release-tags-locked", "*::no-such-registry", 60),  # 4: matches nothing
        _waiver("atlas-cloud-backup-enabled", "*::gone", -1),  # 5: expired
    )
    pair = both("prod", waivers)
    pair.configure(policy_file("prod.json"))
    for _ in range(2):  # each run is judged afresh
        answers = assert_same_answers(pair, broken)
        assert _waiver_notes(answers[:-1]) == []  # never per resource: only the whole stack can tell
        assert _waiver_notes(answers[-1:]) == [
            "backstop-waivers.yaml: waivers[0] expiring",
            "backstop-waivers.yaml: waivers[1] expiring",
            "backstop-waivers.yaml: waivers[3] unmatched",
            "backstop-waivers.yaml: waivers[4] unmatched",
            "backstop-waivers.yaml: waivers[5] expired",
        ]
    [message] = [d.message for d in answers[-1].diagnostics if d.policyName == WAIVERS_POLICY]
    assert (
        "waivers[0] (atlas-cloud-backup-enabled on *::atlas-cartie-prod; owner platform@example.com, "
        in message
    )
    assert "(in 14 days): renew it in review or fix its findings" in message
    assert (
        "waivers[3] (kms-key-rotation on *; owner platform@example.com, RISK-60) matches no finding"
        in message
    )
    assert (
        "waivers[5] (atlas-cloud-backup-enabled on *::gone; owner platform@example.com, RISK--1) expired"
        in (message)
    )
    # All waived findings still fail nothing; the policy's notes stay advisory even under `all: mandatory`.
    pair.configure({"all": "mandatory"})
    answers = assert_same_answers(pair, broken)
    assert len(_waiver_notes(answers)) == 5
    # Disabled, it says nothing (and the next run starts afresh).
    pair.configure({WAIVERS_POLICY: "disabled"})
    assert _waiver_notes(assert_same_answers(pair, broken)) == []


def test_the_waivers_policy_is_declared_only_with_waivers() -> None:
    names = [p.name for p in both("prod").fast.stub.GetAnalyzerInfo(empty_pb2.Empty()).policies]
    assert names == load_rules().ids()
    pair = both("prod", (_waiver("kms-key-rotation", "*", 30),))
    infos = [pack.stub.GetAnalyzerInfo(empty_pb2.Empty()) for pack in (pair.sdk, pair.fast)]
    assert infos[0] == infos[1]
    [declared] = [p for p in infos[1].policies if p.name == WAIVERS_POLICY]
    assert [p.name for p in infos[1].policies] == [*load_rules().ids(), WAIVERS_POLICY]
    assert declared.enforcementLevel == analyzer_pb2.ADVISORY
    assert WAIVERS_POLICY not in load_rules().ids()


def test_disabled_policies_are_skipped_alike(prod_run: ProgramRun) -> None:
    broken = _broken_prod(prod_run.resources)
    pair = both("prod")
    pair.configure(
        {"all": "mandatory", "s3-versioning-enabled": "disabled", "atlas-cloud-backup-enabled": "disabled"}
    )
    found = {policy for policy, _, _ in diagnostics(assert_same_answers(pair, broken))}
    assert found == {"servicebus-dead-letter-alert", "acr-release-tags-locked"}
    pair.configure({"all": "disabled"})
    assert diagnostics(assert_same_answers(pair, broken)) == []


def test_unknowns_give_the_same_advisory_note_or_the_same_violation(prod_preview_run: ProgramRun) -> None:
    resources = mutate(prod_preview_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN})
    resources = mutate(resources, "media-versioning", {"versioningConfiguration.status": UNKNOWN})
    pair = both("prod")
    pair.configure(policy_file("prod.json"))
    lenient = assert_same_answers(pair, resources)
    notes = [d for a in lenient for d in a.diagnostics if d.urn == ""]
    assert {d.policyName for d in notes} >= {"atlas-cloud-backup-enabled", "s3-versioning-enabled"}
    assert all(d.message.startswith(f"can't run policy '{d.policyName}' from policy pack") for d in notes)
    pair.configure(policy_file("prod.json"), every={"unknownIsViolation": True})
    strict = diagnostics(assert_same_answers(pair, resources))
    assert (
        "atlas-cloud-backup-enabled",
        named(resources, "atlas-cartie-prod").urn,
        analyzer_pb2.MANDATORY,
    ) in strict


def test_secrets_assets_and_a_staging_stack_answer_alike(staging_run: ProgramRun) -> None:
    resources = mutate(
        staging_run.resources,
        "media-versioning",
        {"versioningConfiguration": Secret({"status": "Suspended"})},
    )
    resources = mutate(resources, "media", {"tags": Secret({"team": Secret("media"), "list": [Secret(3)]})})
    resources = mutate(resources, "media", {"policyDocument": pulumi.StringAsset('{"Version": "2012"}')})
    pair = both("staging")
    pair.configure()
    found = diagnostics(assert_same_answers(pair, resources))
    assert ("s3-versioning-enabled", named(resources, "media").urn, analyzer_pb2.ADVISORY) in found


@pytest.mark.parametrize(
    ("config", "as_the_cli", "message"),
    [
        (
            {"all": "mandatory", "atlas-pitr-window": {"minRestoreWindow": 14}},
            True,
            "policy pack config of atlas-pitr-window: minRestoreWindow: is not a setting of this policy",
        ),
        (
            {"all": "mandatory", "s3-versioning-enabled": {"environment": "production"}},
            False,
            "policy pack config of s3-versioning-enabled: environment: must be 'prod' or 'staging'",
        ),
        (
            {"all": "mandatory", "atlas-cloud-backup-enabled": {"unknownIsViolation": "sometimes"}},
            False,
            "policy pack config of atlas-cloud-backup-enabled: unknownIsViolation: Input should be a valid",
        ),
    ],
)
def test_a_bad_config_is_refused_with_the_same_error_on_every_call(
    prod_run: ProgramRun, config: dict[str, Any], as_the_cli: bool, message: str
) -> None:
    pair = both("prod")
    pair.configure(config, as_the_cli=as_the_cli)
    policy = next(k for k in config if k != "all")
    rule = load_rules().get(policy)
    if rule.scope == "resource":
        subject = next(r for r in prod_run.resources if r.type in rule.resource_types)
        requests = analyze_requests([subject]) * 2
        calls = [(p, "Analyze", r) for p in (pair.sdk, pair.fast) for r in requests]
    else:
        request = analyze_stack_request(prod_run.resources)
        calls = [(p, "AnalyzeStack", request) for p in (pair.sdk, pair.fast) for _ in range(2)]
    errors = []
    for pack, method, request in calls:
        with pytest.raises(PolicyConfigError) as refused:
            getattr(pack.stub, method)(request)
        errors.append(str(refused.value))
    assert len(set(errors)) == 1 and errors[0].startswith(message), errors
    # A good config afterwards is taken by both, the bad one forgotten.
    pair.configure(policy_file("prod.json"))
    assert diagnostics(assert_same_answers(pair, prod_run.resources)) == [RELEASE_LOCK]


def test_the_pack_s_declared_information_is_the_sdk_s() -> None:
    pair = both("staging")
    for method in ("GetAnalyzerInfo", "GetPluginInfo"):
        assert getattr(pair.fast.stub, method)(empty_pb2.Empty()) == getattr(pair.sdk.stub, method)(
            empty_pb2.Empty()
        )


def test_the_fast_servicer_refuses_policies_that_are_not_its_rules() -> None:
    rules = list(load_rules())
    policies = build_policies(stack="prod")
    with pytest.raises(ValueError, match="one policy per rule"):
        FastAnalyzer(policies[1:], rules, {}, _LEVELS["mandatory"])


# --- the resources the rules see ----------------------------------------------------------------------


def _sdk_resources(request: Any) -> list[Resource]:
    """What `crossguard` made of the SDK's arguments for `request` (an `Analyze` or `AnalyzeStack`)."""
    seen: list[Resource] = []

    def each(args: ResourceValidationArgs, _report: Any) -> None:
        seen.append(resource_from_args(args))

    def whole(args: StackValidationArgs, _report: Any) -> None:
        seen.extend(resource_from_policy_resource(r) for r in args.resources)

    policies = [
        ResourceValidationPolicy(name="capture-each", description="capture", validate=each),
        StackValidationPolicy(name="capture-whole", description="capture", validate=whole),
    ]
    servicer = _PolicyAnalyzerServicer("capture", "0.0.1", policies, _LEVELS["advisory"])
    if isinstance(request, analyzer_pb2.AnalyzeRequest):
        servicer.Analyze(request, None)
    else:
        servicer.AnalyzeStack(request, None)
    return seen


def _same(expected: Sequence[Resource], got: Sequence[Resource]) -> None:
    """Equal, and with the same value types (a float 7.0 is not an int 7) and key order."""
    assert len(got) == len(expected)
    for want, have in zip(expected, got, strict=True):
        assert have == want, want.urn
        assert repr(have) == repr(want), want.urn


def _odd_values(resources: Sequence[Resource]) -> list[Resource]:
    """Secrets at every depth, unknowns, assets and archives, empty maps and lists, zero and false."""
    odd = mutate(
        resources, "media", {"tags": Secret({"team": Secret("media"), "list": [Secret(3), UNKNOWN]})}
    )
    odd = mutate(odd, "media-versioning", {"versioningConfiguration": Secret({"status": UNKNOWN})})
    odd = mutate(
        odd,
        "atlas-cartie-prod",
        {
            "labels": [],
            "advancedConfiguration": {},
            "diskSizeGb": 0,
            "pitEnabled": False,
            "code": pulumi.AssetArchive({"a": pulumi.StringAsset("x"), "b": pulumi.FileAsset("f")}),
            "site": pulumi.RemoteArchive("https://example.com/site.zip"),
        },
    )
    return odd


def test_each_analyze_request_gives_the_resource_the_sdk_path_gave(
    prod_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    for resources in (prod_run.resources, prod_preview_run.resources, _odd_values(prod_run.resources)):
        for request in analyze_requests(resources):
            _same(_sdk_resources(request), [resource_of_analyze(request)])


def test_an_analyze_stack_request_gives_the_resources_the_sdk_path_gave(
    prod_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    for resources in (prod_run.resources, prod_preview_run.resources, _odd_values(prod_run.resources)):
        request = analyze_stack_request(resources)
        _same(_sdk_resources(request), resources_of_stack(request))


def test_links_to_resources_outside_the_stack_are_dropped_as_the_sdk_drops_them(prod_run: ProgramRun) -> None:
    request = analyze_stack_request(prod_run.resources)
    gone = "urn:pulumi:prod::backstop::aws:s3/bucketV2:BucketV2::gone"
    first, second, third = request.resources[1], request.resources[2], request.resources[3]
    first.parent = gone  # the parent comes from the resource options instead
    first.options.parent = "urn:pulumi:prod::backstop::backstop:atlas:Cluster::options-parent"
    second.dependencies.append(gone)
    second.propertyDependencies["bucket"].urns.extend([gone, third.urn])
    third.name = ""  # the name comes from the URN
    sdk, fast = _sdk_resources(request), resources_of_stack(request)
    _same(sdk, fast)
    assert fast[1].parent == "urn:pulumi:prod::backstop::backstop:atlas:Cluster::options-parent"
    assert gone not in fast[2].dependencies and fast[2].property_dependencies["bucket"] == (third.urn,)
    assert fast[3].name == third.urn.split("::")[-1]


@pytest.mark.parametrize(
    ("props", "error"),
    [
        ({"bad": {SECRET_SIG_KEY: SECRET_SIG}}, AssertionError),  # a secret without its value
        ({"bad": {SECRET_SIG_KEY: "not-a-signature"}}, AssertionError),
        ({"bad": float("nan")}, ValueError),
        ({"bad": [float("inf")]}, ValueError),
    ],
)
def test_a_malformed_value_fails_as_the_sdk_fails(props: dict[str, Any], error: type[Exception]) -> None:
    """Even on a resource no rule reads: the SDK converts every resource for every resource policy."""
    pair = both("prod")
    for type_ in (tokens.ATLAS_ADVANCED_CLUSTER, "random:index/randomId:RandomId"):
        request = analyzer_pb2.AnalyzeRequest(
            type=type_, urn=f"urn:pulumi:prod::backstop::{type_}::y", name="y"
        )
        request.properties.update(props)
        messages = []
        for call in (_sdk_resources, resource_of_analyze, pair.sdk.stub.Analyze, pair.fast.stub.Analyze):
            with pytest.raises(error) as failed:
                call(request)
            messages.append(str(failed.value))
        assert len(set(messages)) == 1, messages
