"""Run the Pulumi program engine-free under the SDK's own mocks and record what it declares.

The recording monitor sees the same `RegisterResourceRequest`s a real engine would (wire-named inputs,
`protect`, parent, dependencies), and makes URNs the way the engine does (children of the root stack do
not carry the stack's type in their URN), so resources recorded here look like those of `pulumi preview`.
Computed outputs (ARNs, Atlas ids, zone ids) are filled in the way the providers would, so joins across
resources are exercised; in preview mode they stay unknown, as they would before a first `pulumi up`.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime import rpc
from pulumi.runtime import settings as pulumi_settings

from backstop.config.stackfile import StackFile, read_stack_file
from backstop.ground import tokens
from backstop.ground.resources import PREVIEW_SECRET, SECRET_SIG, SECRET_SIG_KEY, Resource, normalize

ACCOUNT_ID = "111122223333"
PROJECT = "backstop"


def _hex(seed: str, length: int = 24) -> str:
    return hashlib.sha256(seed.encode()).hexdigest()[:length]


def _uuid(seed: str) -> str:
    text = _hex(seed, 32)
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:]}"


def _computed_outputs(typ: str, name: str, inputs: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """The id and the provider-computed outputs a real create would return for `typ`."""
    region = str(inputs.get("region") or "us-east-1")
    if typ in tokens.S3_BUCKETS:
        bucket = str(inputs.get("bucket") or f"{name}-{_hex(name, 7)}")
        return bucket, {"bucket": bucket, "arn": f"arn:aws:s3:::{bucket}", "bucketRegion": region}
    if typ in tokens.KMS_KEYS:
        primary_arn = str(inputs.get("primaryKeyArn") or "")
        key_id = primary_arn.rsplit("/", 1)[-1] if "/" in primary_arn else f"mrk-{_hex(name, 32)}"
        return key_id, {"keyId": key_id, "arn": f"arn:aws:kms:{region}:{ACCOUNT_ID}:key/{key_id}"}
    if typ == tokens.IAM_ROLE:
        return name, {"name": name, "arn": f"arn:aws:iam::{ACCOUNT_ID}:role/{name}"}
    if typ.startswith("mongodbatlas:"):
        atlas_id = _hex(typ + name)
        outputs: dict[str, Any] = {}
        if typ == tokens.ATLAS_ADVANCED_CLUSTER:
            outputs["clusterId"] = atlas_id
            outputs["stateName"] = "IDLE"
            cluster = str(inputs.get("name") or name).lower()
            outputs["connectionStrings"] = {
                "standardSrv": f"mongodb+srv://{cluster}.{_hex(name, 5)}.mongodb.net"
            }
            outputs["replicationSpecs"] = [
                {**spec, "zoneId": _hex(f"zone-{name}-{index}"), "externalId": _hex(f"spec-{name}-{index}")}
                for index, spec in enumerate(inputs.get("replicationSpecs") or [])
            ]
        elif typ == tokens.ATLAS_PROVIDER_ACCESS_SETUP:
            outputs["roleId"] = _hex("role" + name)
            outputs["awsConfigs"] = [
                {
                    "atlasAwsAccountArn": "arn:aws:iam::536727724300:root",
                    "atlasAssumedRoleExternalId": _hex("external" + name, 36),
                }
            ]
        elif typ == tokens.ATLAS_EXPORT_BUCKET:
            outputs["exportBucketId"] = _hex("export" + name)
        return atlas_id, outputs
    if typ.startswith("azure-native:"):
        outputs = {"name": _arm_leaf(typ, name, inputs)}
        if typ in (tokens.AZ_WEB_APP, tokens.AZ_WEB_APP_SLOT):
            site = str(inputs.get("name") or name)
            slot = f"-{inputs['slot']}" if typ == tokens.AZ_WEB_APP_SLOT and inputs.get("slot") else ""
            outputs["defaultHostName"] = f"{site}{slot}.azurewebsites.net"
            if isinstance(inputs.get("identity"), dict):
                identity = {**inputs["identity"], "principalId": _uuid(typ + name)}
                # Inputs list the user-assigned identities' ids; Azure answers a map of them.
                assigned = identity.get("userAssignedIdentities")
                if isinstance(assigned, list):
                    identity["userAssignedIdentities"] = {
                        str(key): {"principalId": _uuid("principal" + str(key))} for key in assigned
                    }
                outputs["identity"] = identity
            # One value per subscription, as Azure gives every app of it.
            outputs["customDomainVerificationId"] = _hex(_SUBSCRIPTION, 64).upper()
        elif typ == tokens.AZ_USER_ASSIGNED_IDENTITY:
            outputs["principalId"] = _uuid("principal" + name)
            outputs["clientId"] = _uuid("client" + name)
        elif typ == tokens.AZ_WEB_CERTIFICATE:
            outputs["thumbprint"] = _hex(typ + name, 40).upper()
        elif typ == tokens.AZ_REGISTRY:
            outputs["loginServer"] = f"{str(inputs.get('registryName') or name).lower()}.azurecr.io"
        return _arm_id(typ, name, inputs), outputs
    if typ in _CLASSIC_ARM_PATHS:
        return _classic_arm_id(typ, name, inputs), {"name": str(inputs.get("name") or name)}
    if typ.startswith("cloudflare:"):
        return _hex(typ + name, 32), {}
    return f"{name}_id", {}


_ARM_PATHS = {
    tokens.AZ_RESOURCE_GROUP: "{resourceGroupName}",  # only its name: its id has no provider segment
    tokens.AZ_STORAGE_ACCOUNT: "Microsoft.Storage/storageAccounts/{accountName}",
    tokens.AZ_BLOB_SERVICE: "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default",
    tokens.AZ_BLOB_CONTAINER: (
        "Microsoft.Storage/storageAccounts/{accountName}/blobServices/default/containers/{containerName}"
    ),
    tokens.AZ_SB_NAMESPACE: "Microsoft.ServiceBus/namespaces/{namespaceName}",
    tokens.AZ_SB_QUEUE: "Microsoft.ServiceBus/namespaces/{namespaceName}/queues/{queueName}",
    tokens.AZ_SB_TOPIC: "Microsoft.ServiceBus/namespaces/{namespaceName}/topics/{topicName}",
    tokens.AZ_SB_SUBSCRIPTION: (
        "Microsoft.ServiceBus/namespaces/{namespaceName}/topics/{topicName}/subscriptions/{subscriptionName}"
    ),
    tokens.AZ_ACTION_GROUP: "Microsoft.Insights/actionGroups/{actionGroupName}",
    tokens.AZ_METRIC_ALERT: "Microsoft.Insights/metricAlerts/{ruleName}",
    tokens.AZ_LOGIC_WORKFLOW: "Microsoft.Logic/workflows/{workflowName}",
    tokens.AZ_APP_SERVICE_PLAN: "Microsoft.Web/serverfarms/{name}",
    tokens.AZ_WEB_APP: "Microsoft.Web/sites/{name}",
    tokens.AZ_WEB_APP_SLOT: "Microsoft.Web/sites/{name}/slots/{slot}",
    tokens.AZ_REGISTRY: "Microsoft.ContainerRegistry/registries/{registryName}",
    tokens.AZ_REGISTRY_REPLICATION: (
        "Microsoft.ContainerRegistry/registries/{registryName}/replications/{replicationName}"
    ),
    tokens.AZ_REDIS: "Microsoft.Cache/redis/{name}",
    tokens.AZ_ROLE_ASSIGNMENT: "Microsoft.Authorization/roleAssignments/{name}",
    tokens.AZ_HOST_NAME_BINDING: "Microsoft.Web/sites/{name}/hostNameBindings/{hostName}",
    tokens.AZ_WEB_CERTIFICATE: "Microsoft.Web/certificates/{name}",
    tokens.AZ_USER_ASSIGNED_IDENTITY: "Microsoft.ManagedIdentity/userAssignedIdentities/{resourceName}",
    tokens.AZ_MANAGED_REDIS: "Microsoft.Cache/redisEnterprise/{clusterName}",
    tokens.AZ_MANAGED_REDIS_DATABASE: (
        "Microsoft.Cache/redisEnterprise/{clusterName}/databases/{databaseName}"
    ),
}
_SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"

# Classic pulumi-azure resources name themselves in `name` and point at their parent by its ARM id.
_CLASSIC_ARM_PATHS = {
    tokens.AZC_STORAGE_ACCOUNT: ("resourceGroupName", "Microsoft.Storage/storageAccounts"),
    tokens.AZC_SB_NAMESPACE: ("resourceGroupName", "Microsoft.ServiceBus/namespaces"),
    tokens.AZC_SB_NAMESPACE_EVENTHUB_ALIAS: ("resourceGroupName", "Microsoft.ServiceBus/namespaces"),
    tokens.AZC_SB_QUEUE: ("namespaceId", "queues"),
    tokens.AZC_SB_QUEUE_EVENTHUB_ALIAS: ("namespaceId", "queues"),
    tokens.AZC_SB_TOPIC: ("namespaceId", "topics"),
    tokens.AZC_SB_TOPIC_EVENTHUB_ALIAS: ("namespaceId", "topics"),
    tokens.AZC_SB_SUBSCRIPTION: ("topicId", "subscriptions"),
    tokens.AZC_SB_SUBSCRIPTION_EVENTHUB_ALIAS: ("topicId", "subscriptions"),
    tokens.AZC_ACTION_GROUP: ("resourceGroupName", "Microsoft.Insights/actionGroups"),
    tokens.AZC_METRIC_ALERT: ("resourceGroupName", "Microsoft.Insights/metricAlerts"),
    tokens.AZC_RESOURCE_GROUP: ("", ""),
}


def _classic_arm_id(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    own = str(inputs.get("name") or name)
    parent_key, segment = _CLASSIC_ARM_PATHS[typ]
    if typ == tokens.AZC_RESOURCE_GROUP:
        return f"{_SUBSCRIPTION}/resourceGroups/{own}"
    if parent_key == "resourceGroupName":
        group = inputs.get("resourceGroupName", "rg")
        return f"{_SUBSCRIPTION}/resourceGroups/{group}/providers/{segment}/{own}"
    return f"{inputs.get(parent_key, '')}/{segment}/{own}"


def _arm_leaf(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    path = _ARM_PATHS.get(typ, "")
    last = path.rsplit("{", 1)[-1].rstrip("}") if "{" in path else ""
    return str(inputs.get(last) or name)


def _arm_id(typ: str, name: str, inputs: Mapping[str, Any]) -> str:
    """The Azure Resource Manager id a create returns; unnamed resources fall back to the Pulumi name."""
    group = inputs.get("resourceGroupName", "rg")
    if typ == tokens.AZ_RESOURCE_GROUP:
        return f"{_SUBSCRIPTION}/resourceGroups/{group if group != 'rg' else name}"
    path = _ARM_PATHS.get(typ, f"{typ.split(':')[1]}/{typ.split(':')[2]}/{{name}}")
    values = {key: str(value) for key, value in inputs.items() if isinstance(value, str)}
    values.setdefault("name", name)
    for key in ("accountName", "namespaceName", "queueName", "topicName", "subscriptionName"):
        values.setdefault(key, name)
    values.setdefault("actionGroupName", name)
    values.setdefault("ruleName", name)
    values.setdefault("workflowName", name)
    values.setdefault("containerName", name)
    values.setdefault("registryName", name)
    values.setdefault("replicationName", name)
    values.setdefault("slot", name)
    for key in ("hostName", "resourceName", "clusterName", "databaseName"):
        values.setdefault(key, name)
    return f"{_SUBSCRIPTION}/resourceGroups/{group}/providers/" + path.format(**values)


def _computed_unknown(state: Any, inputs: Any) -> Any:
    """`state` with every provider-computed value (absent from `inputs`) replaced by the unknown marker."""
    if isinstance(state, dict):
        known = inputs if isinstance(inputs, dict) else {}
        return {
            key: _computed_unknown(value, known[key]) if key in known else rpc.UNKNOWN
            for key, value in state.items()
        }
    if isinstance(state, list) and isinstance(inputs, list):
        return [
            _computed_unknown(item, inputs[i] if i < len(inputs) else None) for i, item in enumerate(state)
        ]
    return state


def conceal_secrets(value: Any) -> Any:
    """`value` with every secret replaced by the marker `pulumi preview --json` writes, `[secret]`.

    The engine encrypts secret inputs before they reach any state file; what backstop records and reports
    must not hold them in plain text either.
    """
    if isinstance(value, dict):
        if value.get(SECRET_SIG_KEY) == SECRET_SIG:
            return PREVIEW_SECRET
        return {key: conceal_secrets(item) for key, item in value.items()}
    if isinstance(value, list):
        return [conceal_secrets(item) for item in value]
    return value


@dataclass
class Registration:
    """One `RegisterResource` request as the engine receives it; `inputs` keep secrets as secret envelopes."""

    urn: str
    type: str
    name: str
    inputs: dict[str, Any]
    resource_id: str
    protect: bool
    parent: str
    provider: str
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    custom: bool
    # The `ignoreChanges` option: properties a later `pulumi up` leaves as they are in the cloud.
    ignore_changes: tuple[str, ...] = ()


class BackstopMocks(pulumi.runtime.Mocks):
    """Provider stand-ins: echo inputs and add the outputs the real providers compute."""

    def __init__(self, preview: bool = False) -> None:
        self.preview = preview

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        resource_id, outputs = _computed_outputs(args.typ, args.name, args.inputs)
        state = {**args.inputs, **outputs}
        if self.preview:
            # Before the first `pulumi up` inputs are known but ids and computed outputs are not.
            return "", _computed_unknown(state, args.inputs)
        return resource_id, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[Any, Any], list[tuple[str, str]] | None]:
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": ACCOUNT_ID,
                "arn": f"arn:aws:iam::{ACCOUNT_ID}:user/backstop",
                "userId": "AIDAEXAMPLE",
                "id": ACCOUNT_ID,
            }, []
        if args.token == "azure-native:logic:listWorkflowTriggerCallbackUrl":
            workflow, trigger = args.args.get("workflowName"), args.args.get("triggerName")
            base = f"https://prod-00.eastus.logic.azure.com/workflows/{_hex(str(workflow), 32)}"
            return {
                "method": "POST",
                "basePath": f"{base}/triggers/{trigger}/paths/invoke",
                "value": f"{base}/triggers/{trigger}/paths/invoke?api-version=2016-10-01&sig=mock-signature",
            }, []
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "clientId": _uuid("client"),
                "objectId": _uuid("object"),
                "subscriptionId": _SUBSCRIPTION.rsplit("/", 1)[-1],
                "tenantId": _uuid("tenant"),
            }, []
        return {}, []


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """A mock monitor that keeps every registration request, with engine-shaped URNs."""

    def __init__(self, mocks: pulumi.runtime.Mocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self._lock = threading.Lock()

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        qualified = type_
        if parent:
            parent_type = parent.split("::")[2]
            if parent_type != tokens.STACK:
                qualified = parent_type + "$" + type_
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), qualified, name])

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type != tokens.STACK:
            registration = Registration(
                urn=response.urn,
                type=request.type,
                name=request.name,
                inputs=rpc.deserialize_properties(request.object),
                resource_id=response.id,
                protect=bool(request.protect),
                parent=request.parent,
                provider=request.provider,
                dependencies=list(request.dependencies),
                property_dependencies={k: list(v.urns) for k, v in request.propertyDependencies.items()},
                custom=bool(request.custom),
                ignore_changes=tuple(request.ignoreChanges),
            )
            with self._lock:
                self.registrations.append(registration)
        return response

    def registration(self, urn: str) -> Registration:
        """The request that registered `urn`."""
        with self._lock:
            matches = [r for r in self.registrations if r.urn == urn]
        if len(matches) != 1:
            raise KeyError(f"{urn}: registered {len(matches)} times")
        return matches[0]

    def recorded(self) -> list[Resource]:
        """Every registered resource as the rules see it, secrets concealed."""
        with self._lock:
            registrations = list(self.registrations)
        return [
            Resource.build(
                urn=r.urn,
                type=r.type,
                name=r.name,
                props=conceal_secrets(r.inputs),
                id=r.resource_id,
                protect=r.protect,
                parent=r.parent,
                provider=r.provider,
                dependencies=r.dependencies,
                property_dependencies=r.property_dependencies,
                custom=r.custom,
            )
            for r in sorted(registrations, key=lambda reg: reg.urn)
        ]


@dataclass(frozen=True)
class ProgramRun:
    stack: str
    resources: list[Resource]
    outputs: dict[str, Any]


def use_mocks(
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    root_directory: Path | None = None,
) -> RecordingMonitor:
    """Point the Pulumi runtime at fresh backstop mocks and stack config; return the recording monitor.

    The runtime's settings, config and root stack are process-wide, so every run starts here.
    `root_directory` is the project's (what `pulumi.get_root_directory()` answers, as under the engine).
    """
    pulumi_settings.reset_options(project=PROJECT, stack=stack, preview=preview)
    pulumi.runtime.set_all_config(dict(config or {}), list(secret_keys or []))
    mocks = BackstopMocks(preview=preview)
    monitor = RecordingMonitor(mocks)
    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    pulumi_settings.SETTINGS.root_directory = str(root_directory) if root_directory is not None else None
    return monitor


def run_with_mocks(
    program: Callable[[], Any],
    *,
    stack: str,
    config: Mapping[str, str] | None = None,
    secret_keys: list[str] | None = None,
    preview: bool = False,
    monitor: RecordingMonitor | None = None,
) -> ProgramRun:
    """Run `program` against a fresh recording monitor; return what it registered, engine-shaped.

    Pass `monitor` (from `use_mocks`) to see what was registered even when the program raises.
    """
    if monitor is None:
        monitor = use_mocks(stack=stack, config=config, secret_keys=secret_keys, preview=preview)
    exported: dict[str, Any] = {}

    def program_then_outputs() -> Any:
        program()
        root = pulumi_settings.get_root_resource()
        outputs = dict(getattr(root, "outputs", None) or {})

        async def serialize() -> None:
            # The same serialization the engine receives, so secrets stay marked as secrets.
            struct = await rpc.serialize_properties(outputs, {})
            exported.update(rpc.deserialize_properties(struct, keep_unknowns=True))

        return serialize()

    pulumi_mocks.test(program_then_outputs)()
    return ProgramRun(
        stack=stack,
        resources=monitor.recorded(),
        outputs=normalize(conceal_secrets(exported)),
    )


def deploy_time_secrets(stack_file: StackFile) -> list[str]:
    """The secret-only keys (`backstop:slackWebhookUrl`…) a stack file leaves to `pulumi config set
    --secret` on the deploying machine: offline they read as `[secret]`, like an encrypted value."""
    from backstop.config import NAMESPACE, SECRET_KEYS

    return [f"{NAMESPACE}:{key}" for key in SECRET_KEYS if f"{NAMESPACE}:{key}" not in stack_file.values]


def run_stack(
    project_dir: Path, stack: str, *, preview: bool = False, assume_deploy_secrets: bool = False
) -> ProgramRun:
    """Run backstop's own program for `stack` with the values of `Pulumi.<stack>.yaml`.

    A committed stack file holds no secret in plain text, and encrypted ones cannot be read offline; with
    `assume_deploy_secrets`, the secret-only keys it leaves out are taken as set at deploy time (`[secret]`),
    so the plan declares what `pulumi up` on the deploying machine declares. The real preview, checked by
    the policy pack, is where a missing one shows.
    """
    from backstop.config.stackfile import OFFLINE_SECRET
    from backstop.program.stack import main

    stack_file: StackFile = read_stack_file(project_dir, stack)
    config = stack_file.engine_config()
    secret_keys = list(stack_file.secret_keys)
    if assume_deploy_secrets:
        for key in deploy_time_secrets(stack_file):
            config[key] = OFFLINE_SECRET
            secret_keys.append(key)
    monitor = use_mocks(
        stack=stack, config=config, secret_keys=secret_keys, preview=preview, root_directory=project_dir
    )
    return run_with_mocks(main, stack=stack, monitor=monitor)


def config_json(values: Mapping[str, Any]) -> dict[str, str]:
    """Encode structured config the way the engine hands it to a program (objects as JSON text)."""
    return {key: value if isinstance(value, str) else json.dumps(value) for key, value in values.items()}
