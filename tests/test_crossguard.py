"""The CrossGuard pack in `policies/`, started and driven the way the Pulumi CLI does it today.

Read from pulumi/pulumi (see ../shared/reference/pulumi-cli-policy-and-actions.md): the CLI has the Python
language host `RunPlugin` the pack. The host waits for the engine's `ConfigureStack`, then, from the pack
directory, runs `<virtualenv>/bin/python -u -m pulumi.policy [--logtostderr] [-v=N] [--tracing URL] <engine
address> <absolute pack directory>` with `PULUMI_ORGANIZATION`, `PULUMI_PROJECT`, `PULUMI_STACK`,
`PULUMI_DRY_RUN`, `PULUMI_CONFIG` and an activated virtualenv (`VIRTUAL_ENV`, its `bin` first on `PATH`,
no `PYTHONHOME`) in the environment; the pack prints its port on stdout. The host's proxy answers
`Handshake` itself and forwards `ConfigureStack`; the engine then calls `GetAnalyzerInfo`, `GetPluginInfo`,
`Configure` (the config it reconciled from the schemas' defaults, the declared levels and
`--policy-pack-config`, after validating every policy's settings against its JSON schema), `Analyze` per
resource and `AnalyzeStack`, with properties as `google.protobuf.Struct`s holding unknowns as the sentinel
string and secrets as the signature envelope. These tests do exactly that over gRPC with the SDK's protobufs
(validating with `jsonschema`'s Draft 7 where the CLI uses gojsonschema), and compare every diagnostic with
what the offline checker (`backstop.policy.core.evaluate`) says about the same resources.
"""

from __future__ import annotations

import asyncio
import json
import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_args

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, json_format, struct_pb2
from jsonschema import Draft7Validator
from pulumi.runtime import rpc
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy.version import VERSION as POLICY_SDK_VERSION

from backstop.ground import seeds, tokens
from backstop.ground.resources import UNKNOWN, Resource
from backstop.policy.core import Rule, Severity, evaluate, load_rules
from backstop.policy.crossguard import config_schema
from backstop.policy.targets import (
    GeoRedundantSku,
    HourlyInterval,
    PolicyConfigError,
    PolicyTargets,
    prod_inventory,
)
from backstop.program.mocks import ProgramRun
from tests.policy_support import mutate, named, without

ROOT = Path(__file__).resolve().parent.parent
POLICIES = ROOT / "policies"
# The address of the engine's host server, which the CLI passes first. A policy pack never dials it.
ENGINE_ADDRESS = "127.0.0.1:1"
STARTUP_SECONDS = 60

MANDATORY = analyzer_pb2.MANDATORY
ADVISORY = analyzer_pb2.ADVISORY
LEVELS = {
    "advisory": analyzer_pb2.ADVISORY,
    "mandatory": analyzer_pb2.MANDATORY,
    "remediate": analyzer_pb2.REMEDIATE,
    "disabled": analyzer_pb2.DISABLED,
}


@dataclass
class Pack:
    process: subprocess.Popen[bytes]
    channel: grpc.Channel
    stub: analyzer_pb2_grpc.AnalyzerStub
    stack: str


class Secret:
    """A value the engine holds as a secret: sent as the signature envelope (`rpc.wrap_rpc_secret`)."""

    def __init__(self, value: Any) -> None:
        self.value = value


# --- starting the pack as the engine does ---------------------------------------------------------------


def _read_port(process: subprocess.Popen[bytes]) -> str:
    lines: queue.Queue[bytes] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    threading.Thread(target=lambda: lines.put(stdout.readline()), daemon=True).start()
    try:
        line = lines.get(timeout=STARTUP_SECONDS)
    except queue.Empty:
        pytest.fail(f"the policy pack printed no port within {STARTUP_SECONDS} s")
    if not line.strip().isdigit():
        pytest.fail(f"the policy pack did not start: stdout {line!r}")
    return line.decode().strip()


def _runtime_options() -> dict[str, Any]:
    spec = yaml.safe_load((POLICIES / "PulumiPolicy.yaml").read_text(encoding="utf-8"))
    assert spec["runtime"]["name"] == "python"
    options: dict[str, Any] = dict(spec["runtime"].get("options") or {})
    return options


def _virtualenv() -> Path:
    """`runtime.options.virtualenv` joined to the pack directory and cleaned, as `filepath.Join` does."""
    return Path(os.path.normpath(POLICIES / _runtime_options()["virtualenv"]))


def _stack_config(stack: str) -> dict[str, str]:
    """`PULUMI_CONFIG` as the host sets it: the stack's config keys, each value a string (objects as JSON)."""
    document = yaml.safe_load((ROOT / f"Pulumi.{stack}.yaml").read_text(encoding="utf-8"))
    return {
        key: value if isinstance(value, str) else json.dumps(value)
        for key, value in (document.get("config") or {}).items()
    }


def _pack_command(trace: Path) -> list[str]:
    """What the language host runs: log flags first, then the engine address, then the pack directory."""
    python = _virtualenv() / "bin" / "python"
    assert python.is_file(), f"PulumiPolicy.yaml's virtualenv {_virtualenv()} has no bin/python"
    flags = ["--logtostderr", "-v=9", "--tracing", f"file:{trace}"]
    return [str(python), "-u", "-m", "pulumi.policy", *flags, ENGINE_ADDRESS, str(POLICIES.resolve())]


def _pack_environment(stack: str) -> dict[str, str]:
    """The CLI's environment, activated (`ActivateVirtualEnv`), with the values of `ConfigureStack`."""
    virtualenv = _virtualenv()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "VIRTUAL_ENV")}
    env["PATH"] = f"{virtualenv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(virtualenv)
    env.update(
        PULUMI_ORGANIZATION="organization",
        PULUMI_PROJECT="backstop",
        PULUMI_STACK=stack,
        PULUMI_DRY_RUN="true",
        PULUMI_CONFIG=json.dumps(_stack_config(stack)),
    )
    return env


def _start_pack(stack: str, workdir: Path) -> Pack:
    stderr_path = workdir / f"stderr-{stack}.txt"
    with stderr_path.open("wb") as stderr:
        process = subprocess.Popen(
            _pack_command(workdir / f"{stack}.trace"),
            cwd=POLICIES,
            env=_pack_environment(stack),
            stdout=subprocess.PIPE,
            stderr=stderr,
        )
    try:
        port = _read_port(process)
        channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(channel).result(timeout=STARTUP_SECONDS)
    except BaseException:
        process.kill()
        process.wait(timeout=10)
        print(stderr_path.read_text(errors="replace"))
        raise
    stub = analyzer_pb2_grpc.AnalyzerStub(channel)
    # The host's proxy answers `Handshake` and forwards the `ConfigureStack` it waited for.
    stub.ConfigureStack(
        analyzer_pb2.AnalyzerStackConfigureRequest(
            stack=stack,
            project="backstop",
            organization="organization",
            dry_run=True,
            config=_stack_config(stack),
        )
    )
    return Pack(process, channel, stub, stack)


def _stop_pack(pack: Pack) -> None:
    pack.channel.close()
    pack.process.kill()
    pack.process.wait(timeout=10)
    if pack.process.stdout is not None:
        pack.process.stdout.close()


@pytest.fixture(scope="module")
def prod_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pack]:
    pack = _start_pack("prod", tmp_path_factory.mktemp("pack"))
    try:
        yield pack
    finally:
        _stop_pack(pack)


@pytest.fixture(scope="module")
def staging_pack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pack]:
    pack = _start_pack("staging", tmp_path_factory.mktemp("pack"))
    try:
        yield pack
    finally:
        _stop_pack(pack)


# --- the engine's side of the protocol ------------------------------------------------------------------


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


def _reconcile(
    pack: Pack, file_config: Mapping[str, Any] | None, every: Mapping[str, Any] | None = None
) -> tuple[dict[str, int], dict[str, dict[str, Any]]]:
    """Each policy's level and settings as the CLI reconciles them: the declared level, then the file's
    `all` level, then the policy's own section (its level and settings). `every` adds settings to all."""
    info = pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: p.enforcementLevel for p in info.policies}
    settings: dict[str, dict[str, Any]] = {name: dict(every or {}) for name in levels}
    config = dict(file_config or {})
    if "all" in config:
        all_section = config["all"] if isinstance(config["all"], str) else config["all"]["enforcementLevel"]
        levels = dict.fromkeys(levels, LEVELS[all_section])
    for key, value in config.items():
        section = {"enforcementLevel": value} if isinstance(value, str) else dict(value)
        level = section.pop("enforcementLevel", None)
        if key != "all":
            if level is not None:
                levels[key] = LEVELS[level]
            settings.setdefault(key, {}).update(section)
    return levels, settings


def reconciled_levels(pack: Pack, file_config: Mapping[str, Any]) -> dict[str, int]:
    return _reconcile(pack, file_config)[0]


ENFORCEMENT_LEVEL_SCHEMA = {"type": "string", "enum": ["advisory", "mandatory", "remediate", "disabled"]}


class CLIRefused(Exception):
    """The CLI's refusal of a policy config, printed instead of calling `Configure`."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def cli_schema(policy: analyzer_pb2.PolicyInfo) -> dict[str, Any]:
    """The document the CLI validates a policy's settings with (`convertSchema`), including the
    `enforcementLevel` property it injects into every schema it receives."""
    properties = json_format.MessageToDict(policy.configSchema.properties)
    properties["enforcementLevel"] = ENFORCEMENT_LEVEL_SCHEMA
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if policy.configSchema.required:
        schema["required"] = list(policy.configSchema.required)
    return schema


def cli_errors(pack: Pack, settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """`validatePolicyPackConfig`: each policy's reconciled settings against its schema, one
    `<policy>: <key>: <reason>` per error (Draft 7 standing in for the CLI's gojsonschema)."""
    errors: list[str] = []
    for policy in pack.stub.GetAnalyzerInfo(empty_pb2.Empty()).policies:
        validator = Draft7Validator(cli_schema(policy))
        for error in sorted(validator.iter_errors(dict(settings.get(policy.name, {}))), key=str):
            key = ".".join(str(part) for part in error.absolute_path)
            errors.append(
                f"{policy.name}: {key}: {error.message}" if key else f"{policy.name}: {error.message}"
            )
    return errors


def configure(
    pack: Pack,
    file_config: Mapping[str, Any] | None = None,
    every: Mapping[str, Any] | None = None,
    *,
    as_the_cli: bool = True,
) -> None:
    """`Configure` as the CLI sends it, with `--policy-pack-config` `file_config`: first every policy's
    settings are validated against its schema, and a refused config never reaches the pack (`CLIRefused`).
    `as_the_cli=False` skips that check, to see what the pack itself does with a value. The CLI passes the
    file's `all` section on too, as an entry of its own that no policy reads."""
    levels, settings = _reconcile(pack, file_config, every)
    if as_the_cli:
        errors = cli_errors(pack, settings)
        if errors:
            raise CLIRefused(errors)
    policy_config = {
        name: analyzer_pb2.PolicyConfig(enforcementLevel=level, properties=_struct(settings[name]))
        for name, level in levels.items()
    }
    all_section = (file_config or {}).get("all")
    if all_section is not None:
        level = all_section if isinstance(all_section, str) else all_section["enforcementLevel"]
        policy_config["all"] = analyzer_pb2.PolicyConfig(enforcementLevel=LEVELS[level])
    pack.stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=policy_config))


def _wire(value: Any) -> Any:
    """A rule-side value as the engine holds it: unknowns as the sentinel, secrets as the envelope."""
    if value is UNKNOWN:
        return rpc.UNKNOWN
    if isinstance(value, Secret):
        return rpc.wrap_rpc_secret(_wire(value.value))
    if isinstance(value, Mapping):
        return {str(k): _wire(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def _properties(resources: Sequence[Resource]) -> list[struct_pb2.Struct]:
    """Each resource's properties serialized by the Pulumi SDK's own `rpc.serialize_properties`."""

    async def serialize_all() -> list[struct_pb2.Struct]:
        return [await rpc.serialize_properties(_wire(dict(r.props)), {}) for r in resources]

    # A private loop: `asyncio.run` would leave the main thread without one for the mocks' next run.
    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(serialize_all())
    finally:
        loop.close()


def _root(stack: str) -> str:
    return f"urn:pulumi:{stack}::backstop::{tokens.STACK}::backstop-{stack}"


def _provider(resource: Resource) -> analyzer_pb2.AnalyzerProviderResource | None:
    """The default provider the engine names for a custom resource; components have none."""
    if resource.type in tokens.COMPONENTS:
        return None
    package = resource.type.split(":", 1)[0]
    return analyzer_pb2.AnalyzerProviderResource(
        type=f"{tokens.PROVIDER_PREFIX}{package}",
        urn=f"urn:pulumi:{resource.stack}::backstop::{tokens.PROVIDER_PREFIX}{package}::default",
        name="default",
        properties=_struct({"version": "0.0.0"}),
    )


def _options(resource: Resource) -> analyzer_pb2.AnalyzerResourceOptions:
    return analyzer_pb2.AnalyzerResourceOptions(
        protect=resource.protect, parent=resource.parent or _root(resource.stack)
    )


def analyze_requests(resources: Sequence[Resource]) -> list[analyzer_pb2.AnalyzeRequest]:
    """One `AnalyzeRequest` per resource, as the engine sends when each resource is registered."""
    return [
        analyzer_pb2.AnalyzeRequest(
            type=resource.type,
            properties=properties,
            urn=resource.urn,
            name=resource.name,
            options=_options(resource),
            provider=_provider(resource),
        )
        for resource, properties in zip(resources, _properties(resources), strict=True)
    ]


def analyze_stack_request(resources: Sequence[Resource]) -> analyzer_pb2.AnalyzeStackRequest:
    """The whole stack, root stack resource included, as the engine sends at the end of an update."""
    stack = resources[0].stack
    root = analyzer_pb2.AnalyzerResource(
        type=tokens.STACK, urn=_root(stack), name=f"backstop-{stack}", properties=_struct({})
    )
    return analyzer_pb2.AnalyzeStackRequest(
        resources=[
            root,
            *(
                analyzer_pb2.AnalyzerResource(
                    type=resource.type,
                    properties=properties,
                    urn=resource.urn,
                    name=resource.name,
                    options=_options(resource),
                    provider=_provider(resource),
                    parent=resource.parent or _root(stack),
                    dependencies=list(resource.dependencies),
                    propertyDependencies={
                        key: analyzer_pb2.AnalyzerPropertyDependencies(urns=list(urns))
                        for key, urns in resource.property_dependencies.items()
                        if urns
                    },
                )
                for resource, properties in zip(resources, _properties(resources), strict=True)
            ),
        ]
    )


def analyze_each(pack: Pack, resources: Sequence[Resource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    """`Analyze`, one call per resource, as the engine does when each resource is registered."""
    diagnostics: list[analyzer_pb2.AnalyzeDiagnostic] = []
    for request in analyze_requests(resources):
        diagnostics.extend(pack.stub.Analyze(request).diagnostics)
    return diagnostics


def analyze_stack(pack: Pack, resources: Sequence[Resource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    """`AnalyzeStack` over the whole stack, root stack resource included, as at the end of an update."""
    return list(pack.stub.AnalyzeStack(analyze_stack_request(resources)).diagnostics)


def analyze_all(pack: Pack, resources: Sequence[Resource]) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    return analyze_each(pack, resources) + analyze_stack(pack, resources)


Key = tuple[str, str, int]


def keys(diagnostics: Sequence[analyzer_pb2.AnalyzeDiagnostic]) -> set[Key]:
    return {(d.policyName, d.urn, d.enforcementLevel) for d in diagnostics}


def offline(resources: Sequence[Resource], targets: PolicyTargets) -> set[Key]:
    """What `backstop check` finds, in the shape the pack reports it: definite findings with their URN at
    their level; unknowns left advisory become the SDK's one advisory note per policy, without a URN."""
    report = evaluate(resources, targets, stack=resources[0].stack)
    found: set[Key] = set()
    for v in report.violations:
        if v.unknown and not targets.unknown_is_violation:
            found.add((v.policy, "", ADVISORY))
        else:
            found.add((v.policy, v.urn, LEVELS[v.level]))
    return found


def prod_targets(**overrides: Any) -> PolicyTargets:
    targets = PolicyTargets.for_environment("prod").with_config(prod_inventory(ROOT), "Pulumi.prod.yaml")
    return targets.model_copy(update=overrides)


def staging_targets() -> PolicyTargets:
    return PolicyTargets.for_environment("staging").with_config(prod_inventory(ROOT), "Pulumi.prod.yaml")


def policy_file(name: str) -> dict[str, Any]:
    loaded = json.loads((POLICIES / name).read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


# --- how the CLI starts it ----------------------------------------------------------------------------


def test_the_pack_pins_the_pip_toolchain_and_the_project_virtualenv() -> None:
    """Without `toolchain: pip`, a `uv.lock` or `poetry.lock` in any parent directory would switch the host
    to uv or poetry (which ignores `virtualenv`)."""
    assert _runtime_options() == {"toolchain": "pip", "virtualenv": "../.venv"}
    assert _virtualenv() == ROOT / ".venv"


def test_the_pack_starts_from_its_absolute_directory_with_the_log_flags_first(
    prod_pack: Pack, tmp_path: Path
) -> None:
    command = _pack_command(tmp_path / "trace")
    assert command[1:4] == ["-u", "-m", "pulumi.policy"]
    assert command[-2:] == [ENGINE_ADDRESS, str(POLICIES.resolve())]
    assert Path(command[-1]).is_absolute() and (Path(command[-1]) / "__main__.py").is_file()
    assert command[4:-2] == ["--logtostderr", "-v=9", "--tracing", f"file:{tmp_path / 'trace'}"]
    assert prod_pack.process.poll() is None  # started that way, it is serving
    env = _pack_environment("prod")
    assert env["VIRTUAL_ENV"] == str(ROOT / ".venv") and env["PATH"].startswith(f"{ROOT / '.venv' / 'bin'}")
    assert json.loads(env["PULUMI_CONFIG"])["backstop:environment"] == "prod"
    assert json.loads(json.loads(env["PULUMI_CONFIG"])["backstop:atlas"])["projectName"] == "cartie-prod"


# --- what the pack declares -----------------------------------------------------------------------------


def test_analyzer_info_lists_every_rule_with_its_description_level_and_settings(prod_pack: Pack) -> None:
    rules = {rule.id: rule for rule in load_rules()}
    info = prod_pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
    assert info.name == "backstop"
    assert info.supportsConfig
    assert [p.name for p in info.policies] == sorted(rules)
    for policy in info.policies:
        rule = rules[policy.name]
        assert policy.description == rule.description
        # The prod pack's declared defaults fill the targets into the fix (no `$setting` left).
        assert policy.remediation_steps == rule.remediation_for(PolicyTargets.for_environment("prod"))
        assert "$" not in policy.remediation_steps
        assert policy.enforcementLevel == MANDATORY
        assert policy.severity == analyzer_pb2.PolicySeverity.Value(f"POLICY_SEVERITY_{rule.severity.name}")
        expected_type = "POLICY_TYPE_RESOURCE" if rule.scope == "resource" else "POLICY_TYPE_STACK"
        assert policy.policy_type == analyzer_pb2.PolicyType.Value(expected_type)
        schema = json_format.MessageToDict(policy.configSchema.properties)
        aliases = {PolicyTargets.model_fields[t].alias for t in rule.tunables}
        assert set(schema) == {"environment", "unknownIsViolation"} | aliases
        assert schema["environment"]["enum"] == ["prod", "staging"]
        assert schema["unknownIsViolation"]["type"] == "boolean"
        for name, prop in schema.items():
            # No defaults: the CLI would write them into every policy's config and pin staging to prod.
            assert "default" not in prop and "$ref" not in json.dumps(prop), (policy.name, name)
            assert ("type" in prop or "enum" in prop) and prop["description"], (policy.name, name)


def test_each_config_schema_crosses_the_wire_as_derived_from_policy_targets(prod_pack: Pack) -> None:
    rules = {rule.id: rule for rule in load_rules()}
    info = prod_pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
    for policy in info.policies:
        sent = json_format.MessageToDict(policy.configSchema.properties)
        assert sent == config_schema(rules[policy.name]).properties, policy.name


def test_a_rule_s_tunables_become_json_schema_with_both_environments_defaults() -> None:
    rule = Rule(
        id="example-tunables",
        description="A rule that reads four settings.",
        severity=Severity.HIGH,
        remediation="None needed.",
        scope="resource",
        check=lambda resource, targets: [],
        resource_types=frozenset({tokens.ATLAS_ADVANCED_CLUSTER}),
        tunables=(
            "min_restore_window_days",
            "require_protect",
            "allowed_hourly_intervals",
            "min_electable_nodes",
        ),
    )
    properties = config_schema(rule).properties
    assert list(properties) == [
        "environment",
        "unknownIsViolation",
        "minRestoreWindowDays",
        "requireProtect",
        "allowedHourlyIntervals",
        "minElectableNodes",
    ]
    assert properties["minRestoreWindowDays"] == {
        "type": "number",
        "minimum": 0,
        "description": "backstop target minRestoreWindowDays. Default: 7.",
    }
    assert properties["requireProtect"] == {
        "type": "boolean",
        "description": "backstop target requireProtect. Default: true in prod, false in staging.",
    }
    assert properties["allowedHourlyIntervals"] == {
        "type": "array",
        "items": {"type": "integer", "enum": [1, 2, 4, 6, 8, 12]},
        "minItems": 1,
        "description": "backstop target allowedHourlyIntervals. Default: [1, 2, 4, 6, 8, 12].",
    }
    assert properties["minElectableNodes"]["type"] == "integer"
    assert properties["minElectableNodes"]["minimum"] == 1
    assert properties["environment"]["enum"] == ["prod", "staging"]
    assert "default" not in json.dumps(properties)


def test_a_staging_stack_declares_the_staging_levels(staging_pack: Pack) -> None:
    staging = PolicyTargets.for_environment("staging")
    info = staging_pack.stub.GetAnalyzerInfo(empty_pb2.Empty())
    declared = {p.name: p.enforcementLevel for p in info.policies}
    assert declared == {rule.id: LEVELS[staging.level_for(rule.id)] for rule in load_rules()}
    assert declared["s3-versioning-enabled"] == ADVISORY


def test_plugin_info_is_the_policy_sdk_version(prod_pack: Pack) -> None:
    assert prod_pack.stub.GetPluginInfo(empty_pb2.Empty()).version == POLICY_SDK_VERSION == "1.21.0"


# --- compliant and mutated stacks -----------------------------------------------------------------------


# The shipped registry purges untagged manifests after 30 days, and release-tag locking cannot be declared:
# `acr-release-tags-locked` is an advisory unknown (no URN, as the SDK reports one) until it is attested.
RELEASE_LOCK: Key = ("acr-release-tags-locked", "", ADVISORY)


def test_the_compliant_prod_stack_yields_no_diagnostic(prod_pack: Pack, prod_run: ProgramRun) -> None:
    configure(prod_pack, policy_file("prod.json"))
    assert offline(prod_run.resources, prod_targets()) == {RELEASE_LOCK}
    assert keys(analyze_each(prod_pack, prod_run.resources)) == {RELEASE_LOCK}
    assert analyze_stack(prod_pack, prod_run.resources) == []
    configure(prod_pack, {**policy_file("prod.json"), "acr-release-tags-locked": {"releaseTagsLocked": True}})
    assert analyze_all(prod_pack, prod_run.resources) == []


def _broken_prod(resources: Sequence[Resource]) -> list[Resource]:
    broken = mutate(resources, "media-versioning", {"versioningConfiguration.status": "Suspended"})
    broken = mutate(broken, "atlas-cartie-prod", {"pitEnabled": False})
    return without(broken, "messaging-dead-letter-alert")


def test_a_broken_prod_stack_yields_exactly_the_offline_findings(
    prod_pack: Pack, prod_run: ProgramRun
) -> None:
    broken = _broken_prod(prod_run.resources)
    bucket, cluster = named(broken, "media"), named(broken, "atlas-cartie-prod")
    namespace = named(broken, "messaging")
    configure(prod_pack, policy_file("prod.json"))

    each, stack = analyze_each(prod_pack, broken), analyze_stack(prod_pack, broken)
    each = [d for d in each if d.policyName != RELEASE_LOCK[0]]

    assert keys(each) == {("atlas-cloud-backup-enabled", cluster.urn, MANDATORY)}
    assert keys(stack) == {
        ("s3-versioning-enabled", bucket.urn, MANDATORY),
        ("servicebus-dead-letter-alert", namespace.urn, MANDATORY),
    }
    assert len(each + stack) == 3  # one diagnostic per finding, none twice
    assert keys(each + stack) == offline(broken, prod_targets()) - {RELEASE_LOCK}
    versioning = next(d for d in stack if d.policyName == "s3-versioning-enabled")
    assert versioning.policyPackName == "backstop"
    assert versioning.message.splitlines()[0] == load_rules().get("s3-versioning-enabled").description
    assert "versioning status is 'Suspended', not 'Enabled'" in versioning.message
    assert "Remediation: Add aws.s3.BucketVersioning(" in versioning.message
    backup = next(d for d in each if d.policyName == "atlas-cloud-backup-enabled")
    assert "continuous (point-in-time) backup is off: pitEnabled must be true" in backup.message


def test_staging_config_makes_the_same_findings_advisory(prod_pack: Pack, prod_run: ProgramRun) -> None:
    broken = _broken_prod(prod_run.resources)
    configure(prod_pack, policy_file("prod.json"))
    mandatory = keys(analyze_all(prod_pack, broken)) - {RELEASE_LOCK}
    configure(prod_pack, policy_file("staging.json"))
    advisory = keys(analyze_all(prod_pack, broken)) - {RELEASE_LOCK}
    assert len(mandatory) == 3 and {level for _, _, level in mandatory} == {MANDATORY}
    assert advisory == {(policy, urn, ADVISORY) for policy, urn, _ in mandatory}


@pytest.mark.parametrize("environment", ["prod", "staging"])
def test_each_config_file_sets_the_levels_of_its_environment(prod_pack: Pack, environment: str) -> None:
    """`policies/<env>.json` gives every policy the level `PolicyTargets` gives its rule in that
    environment (a restore over prod stays mandatory in staging), as the CLI reconciles it."""
    targets = PolicyTargets.for_environment("prod" if environment == "prod" else "staging")
    levels = reconciled_levels(prod_pack, policy_file(f"{environment}.json"))
    assert levels == {rule.id: LEVELS[targets.level_for(rule.id)] for rule in load_rules()}


def test_a_staging_stack_is_advisory_and_held_to_staging_targets(
    staging_pack: Pack, staging_run: ProgramRun
) -> None:
    configure(staging_pack)  # no --policy-pack-config: the levels the pack declares for staging
    broken = mutate(
        staging_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"}
    )
    found = keys(analyze_all(staging_pack, broken))
    assert ("s3-versioning-enabled", named(broken, "media").urn, ADVISORY) in found
    assert found == offline(broken, staging_targets())
    assert {level for _, _, level in found} == {ADVISORY}


def test_a_policy_environment_setting_overrides_the_stack_name(
    staging_pack: Pack, staging_run: ProgramRun
) -> None:
    broken = mutate(
        staging_run.resources, "media-versioning", {"versioningConfiguration.status": "Suspended"}
    )
    configure(staging_pack, {"all": "mandatory"}, every={"environment": "prod"})
    found = keys(analyze_all(staging_pack, broken))
    assert found == offline(broken, prod_targets())
    assert ("s3-versioning-enabled", named(broken, "media").urn, MANDATORY) in found


def test_a_tunable_set_in_a_policy_section_tightens_that_policy(
    prod_pack: Pack, prod_run: ProgramRun
) -> None:
    """The documented tuning example (docs/policy-pack.md): a 14-day point-in-time window fails the seeds'
    7-day schedule and Backup Compliance Policy, at their URNs, and nothing else."""
    configure(prod_pack, {"all": "mandatory", "atlas-pitr-window": {"minRestoreWindowDays": 14}})
    found = [d for d in analyze_all(prod_pack, prod_run.resources) if d.policyName != RELEASE_LOCK[0]]
    schedule = named(prod_run.resources, "atlas-cartie-prod-backup-schedule")
    compliance = named(prod_run.resources, "atlas-backup-compliance-policy")
    assert keys(found) == {
        ("atlas-pitr-window", schedule.urn, MANDATORY),
        ("atlas-pitr-window", compliance.urn, MANDATORY),
    }
    assert keys(found) == offline(prod_run.resources, prod_targets(min_restore_window_days=14)) - {
        RELEASE_LOCK
    }
    assert all("at least 14 days required" in d.message for d in found)


# --- unknowns and secrets -------------------------------------------------------------------------------


def test_an_unknown_on_a_mandatory_rule_is_an_advisory_note_naming_the_resource(
    prod_pack: Pack, prod_run: ProgramRun
) -> None:
    cluster = named(prod_run.resources, "atlas-cartie-prod")
    undecided = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN})
    configure(prod_pack, policy_file("prod.json"))

    diagnostics = [d for d in analyze_each(prod_pack, [named(undecided, "atlas-cartie-prod")])]

    assert keys(diagnostics) == {("atlas-cloud-backup-enabled", "", ADVISORY)}
    (note,) = diagnostics
    assert "pitEnabled is not known until the resource is created" in note.message
    assert cluster.urn in note.message and "unknownIsViolation" in note.message


def test_unknown_is_violation_makes_the_unknown_mandatory_at_its_urn(
    prod_pack: Pack, prod_run: ProgramRun
) -> None:
    undecided = mutate(prod_run.resources, "media-versioning", {"versioningConfiguration.status": UNKNOWN})
    bucket = named(undecided, "media")
    configure(prod_pack, policy_file("prod.json"))
    note = [d for d in analyze_stack(prod_pack, undecided) if d.policyName == "s3-versioning-enabled"]
    assert keys(note) == {("s3-versioning-enabled", "", ADVISORY)} and bucket.urn in note[0].message

    configure(prod_pack, {"all": "mandatory", "s3-versioning-enabled": {"unknownIsViolation": True}})
    violation = [d for d in analyze_stack(prod_pack, undecided) if d.policyName == "s3-versioning-enabled"]
    assert keys(violation) == {("s3-versioning-enabled", bucket.urn, MANDATORY)}
    assert "unknownIsViolation" in violation[0].message


def test_a_first_preview_never_crashes_and_blocks_only_with_unknown_is_violation(
    prod_pack: Pack, prod_preview_run: ProgramRun
) -> None:
    # Ids and computed outputs are unknown; so, here, is whether the cluster has continuous backup.
    resources = mutate(prod_preview_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN})
    cluster = named(resources, "atlas-cartie-prod")
    configure(prod_pack, policy_file("prod.json"))
    lenient = keys(analyze_all(prod_pack, resources))
    assert lenient == offline(resources, prod_targets())
    assert ("atlas-cloud-backup-enabled", "", ADVISORY) in lenient
    assert MANDATORY not in {level for _, _, level in lenient}
    # Buckets and their BucketVersioning are joined by the engine's property dependencies, sent on the wire.
    assert "s3-versioning-enabled" not in {policy for policy, _, _ in lenient}

    configure(prod_pack, policy_file("prod.json"), every={"unknownIsViolation": True})
    strict = keys(analyze_all(prod_pack, resources))
    assert strict == offline(resources, prod_targets(unknown_is_violation=True))
    assert ("atlas-cloud-backup-enabled", cluster.urn, MANDATORY) in strict
    assert {policy for policy, _, _ in strict} == {policy for policy, _, _ in lenient}


def test_secrets_are_checked_by_their_value(prod_pack: Pack, prod_run: ProgramRun) -> None:
    configure(prod_pack, policy_file("prod.json"))
    bucket = named(prod_run.resources, "media")
    for status, expected in (
        ("Enabled", set()),
        ("Suspended", {("s3-versioning-enabled", bucket.urn, MANDATORY)}),
    ):
        secret = mutate(
            prod_run.resources, "media-versioning", {"versioningConfiguration": Secret({"status": status})}
        )
        found = {k for k in keys(analyze_stack(prod_pack, secret)) if k[0] == "s3-versioning-enabled"}
        assert found == expected, status


# --- bad config ---------------------------------------------------------------------------------------


def test_every_schema_the_cli_validates_with_is_a_valid_draft_7_schema(prod_pack: Pack) -> None:
    policies = prod_pack.stub.GetAnalyzerInfo(empty_pb2.Empty()).policies
    assert len(policies) == len(load_rules())
    for policy in policies:
        Draft7Validator.check_schema(cli_schema(policy))
        for name, prop in json_format.MessageToDict(policy.configSchema.properties).items():
            if prop.get("type") == "object":
                assert prop["additionalProperties"] is False, (policy.name, name)


def test_the_closed_sets_of_the_schemas_are_the_seeds() -> None:
    assert get_args(HourlyInterval) == seeds.ATLAS_HOURLY_INTERVALS
    assert set(get_args(GeoRedundantSku)) == seeds.GEO_REDUNDANT_SKUS


@pytest.mark.parametrize("name", ["prod.json", "staging.json"])
def test_the_shipped_config_files_pass_the_cli(prod_pack: Pack, name: str) -> None:
    assert cli_errors(prod_pack, _reconcile(prod_pack, policy_file(name))[1]) == []


# What the CLI itself refuses, before `Configure`, naming the policy and the key; the pack's own model
# (and so `backstop plan --policy-config`) refuses the same value.
CLI_REFUSALS = [
    (
        "s3-versioning-enabled",
        {"environment": "production"},
        "s3-versioning-enabled: environment: 'production' is not one of ['prod', 'staging']",
    ),
    (
        "s3-versioning-enabled",
        {"unknownIsViolation": "sometimes"},
        "s3-versioning-enabled: unknownIsViolation: 'sometimes' is not of type 'boolean'",
    ),
    (
        "atlas-pitr-window",
        {"minRestoreWindowDays": -1},
        "atlas-pitr-window: minRestoreWindowDays: -1 is less than the minimum of 0",
    ),
    (
        "atlas-pitr-window",
        {"minRestoreWindowDays": "7"},
        "atlas-pitr-window: minRestoreWindowDays: '7' is not of type 'number'",
    ),
    (
        "atlas-hourly-snapshot-rpo",
        {"allowedHourlyIntervals": [6, 5]},
        "atlas-hourly-snapshot-rpo: allowedHourlyIntervals.1: 5 is not one of [1.0, 2.0, 4.0, 6.0, 8.0, "
        "12.0]",
    ),
    (
        "atlas-hourly-snapshot-rpo",
        {"allowedHourlyIntervals": []},
        "atlas-hourly-snapshot-rpo: allowedHourlyIntervals: [] should be non-empty",
    ),
    (
        "azure-storage-geo-redundant",
        {"geoRedundantSkus": ["Standard_LRS"]},
        "azure-storage-geo-redundant: geoRedundantSkus.0: 'Standard_LRS' is not one of",
    ),
    (
        "atlas-restore-target-not-prod",
        {"prodProjectIds": ["cartie-prod"]},
        "atlas-restore-target-not-prod: prodProjectIds.0: 'cartie-prod' does not match '^[0-9a-f]{24}$'",
    ),
    (
        "kms-deletion-window",
        {"minKmsDeletionWindowDays": 45},
        "kms-deletion-window: minKmsDeletionWindowDays: 45 is greater than the maximum of 30.0",
    ),
    (
        "atlas-compliance-policy",
        {"compliancePolicy": "sometimes"},
        "atlas-compliance-policy: compliancePolicy: 'sometimes' is not one of ['required', 'forbidden', "
        "'allowed']",
    ),
    (
        "atlas-backup-alerts",
        {"requiredAlertEvents": ["cps snapshot failed"]},
        "atlas-backup-alerts: requiredAlertEvents.0: 'cps snapshot failed' does not match",
    ),
]


@pytest.mark.parametrize(("policy", "section", "message"), CLI_REFUSALS, ids=[m for _, _, m in CLI_REFUSALS])
def test_the_cli_refuses_a_wrong_type_enum_or_bound_naming_policy_and_key(
    prod_pack: Pack, prod_run: ProgramRun, policy: str, section: dict[str, Any], message: str
) -> None:
    configure(prod_pack, policy_file("prod.json"))
    with pytest.raises(CLIRefused) as refused:
        configure(prod_pack, {"all": "mandatory", policy: section})
    (error,) = refused.value.errors
    assert error.startswith(message), error
    # Nothing reached the pack: it still runs with the last config it was given.
    assert analyze_stack(prod_pack, prod_run.resources) == []
    (key,) = section
    with pytest.raises(PolicyConfigError, match=f"^policy config: {key}(\\.[0-9]+)?: "):
        prod_targets().with_config(section)


def test_a_misspelt_key_passes_the_cli_and_is_refused_by_the_pack_in_one_line(
    prod_pack: Pack, prod_run: ProgramRun
) -> None:
    """The Analyzer protocol's config schema has only `properties` and `required`: the CLI cannot be told
    to refuse a key no property names. The pack does, at the first call that reads the policy's config."""
    config = {"all": "mandatory", "atlas-pitr-window": {"minRestoreWindow": 14}}
    assert cli_errors(prod_pack, _reconcile(prod_pack, config)[1]) == []
    configure(prod_pack, config)
    with pytest.raises(grpc.RpcError) as refused:
        analyze_each(prod_pack, prod_run.resources)
    assert refused.value.code() == grpc.StatusCode.UNKNOWN
    details = refused.value.details() or ""
    assert (
        "policy pack config of atlas-pitr-window: minRestoreWindow: is not a setting of this policy"
        in details
    )
    assert "\n" not in details
    configure(prod_pack, policy_file("prod.json"))
    assert analyze_stack(prod_pack, prod_run.resources) == []


@pytest.mark.parametrize(
    ("section", "message"),
    [
        (
            {"environment": "production"},
            "policy pack config of s3-versioning-enabled: environment: must be 'prod' or 'staging' "
            "(got 'production')",
        ),
        (
            {"unknownIsViolation": "sometimes"},
            "policy pack config of s3-versioning-enabled: unknownIsViolation: "
            "Input should be a valid boolean",
        ),
    ],
)
def test_the_pack_checks_again_what_the_cli_would_have_refused(
    prod_pack: Pack, prod_run: ProgramRun, section: dict[str, Any], message: str
) -> None:
    """Defence in depth for a config that skipped the CLI's check (an older CLI, a hand-made request)."""
    config = {"all": "mandatory", "s3-versioning-enabled": section}
    assert cli_errors(prod_pack, _reconcile(prod_pack, config)[1]) != []
    configure(prod_pack, config, as_the_cli=False)
    with pytest.raises(grpc.RpcError) as refused:
        analyze_stack(prod_pack, prod_run.resources)
    details = refused.value.details() or ""
    assert message in details and "\n" not in details
    configure(prod_pack, policy_file("prod.json"))
    assert analyze_stack(prod_pack, prod_run.resources) == []


def test_the_config_of_one_policy_does_not_leak_into_another(prod_pack: Pack, prod_run: ProgramRun) -> None:
    cluster = named(prod_run.resources, "atlas-cartie-prod")
    undecided = mutate(prod_run.resources, "atlas-cartie-prod", {"pitEnabled": UNKNOWN})
    configure(prod_pack, {"all": "mandatory", "s3-versioning-enabled": {"unknownIsViolation": True}})
    found = keys(analyze_each(prod_pack, [named(undecided, "atlas-cartie-prod")]))
    assert found == {("atlas-cloud-backup-enabled", "", ADVISORY)}
    assert cluster.urn not in {urn for _, urn, _ in found}
