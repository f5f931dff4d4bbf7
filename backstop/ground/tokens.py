"""Resource type tokens: the one list shared by components, rules, mocks and the CLI.

Tokens are what the engine, `pulumi preview --json` and `pulumi stack export` call a resource type, so
rules match on these strings and never on Python class names. Deprecated aliases that users still have in
their programs (the `*V2` S3 resources of pulumi-aws v7, the `insights` module of azure-native v2) are
listed beside the current token so that a rule written for one applies to both.
"""

from __future__ import annotations

STACK = "pulumi:pulumi:Stack"
PROVIDER_PREFIX = "pulumi:providers:"

# --- MongoDB Atlas (pulumi-mongodbatlas v4) -------------------------------------------------------------
ATLAS_PROJECT = "mongodbatlas:index/project:Project"
ATLAS_ADVANCED_CLUSTER = "mongodbatlas:index/advancedCluster:AdvancedCluster"
ATLAS_LEGACY_CLUSTER = "mongodbatlas:index/cluster:Cluster"
ATLAS_BACKUP_SCHEDULE = "mongodbatlas:index/cloudBackupSchedule:CloudBackupSchedule"
ATLAS_SNAPSHOT = "mongodbatlas:index/cloudBackupSnapshot:CloudBackupSnapshot"
ATLAS_EXPORT_BUCKET = "mongodbatlas:index/cloudBackupSnapshotExportBucket:CloudBackupSnapshotExportBucket"
ATLAS_EXPORT_JOB = "mongodbatlas:index/cloudBackupSnapshotExportJob:CloudBackupSnapshotExportJob"
ATLAS_RESTORE_JOB = "mongodbatlas:index/cloudBackupSnapshotRestoreJob:CloudBackupSnapshotRestoreJob"
ATLAS_COLLECTION_RESTORE_JOB = (
    "mongodbatlas:index/cloudBackupCollectionRestoreJob:CloudBackupCollectionRestoreJob"
)
ATLAS_PROVIDER_ACCESS_SETUP = "mongodbatlas:index/cloudProviderAccessSetup:CloudProviderAccessSetup"
ATLAS_PROVIDER_ACCESS_AUTH = (
    "mongodbatlas:index/cloudProviderAccessAuthorization:CloudProviderAccessAuthorization"
)
ATLAS_ENCRYPTION_AT_REST = "mongodbatlas:index/encryptionAtRest:EncryptionAtRest"
ATLAS_COMPLIANCE_POLICY = "mongodbatlas:index/backupCompliancePolicy:BackupCompliancePolicy"
ATLAS_ALERT = "mongodbatlas:index/alertConfiguration:AlertConfiguration"
ATLAS_DATABASE_USER = "mongodbatlas:index/databaseUser:DatabaseUser"
ATLAS_USER_PROJECT_ASSIGNMENT = "mongodbatlas:index/cloudUserProjectAssignment:CloudUserProjectAssignment"
ATLAS_TEAM_PROJECT_ASSIGNMENT = "mongodbatlas:index/teamProjectAssignment:TeamProjectAssignment"
ATLAS_PROJECT_INVITATION = "mongodbatlas:index/projectInvitation:ProjectInvitation"
ATLAS_API_KEY_PROJECT_ASSIGNMENT = "mongodbatlas:index/apiKeyProjectAssignment:ApiKeyProjectAssignment"
# Every other way the installed pulumi-mongodbatlas grants a project role (ORG_OWNER: every project's).
ATLAS_SERVICE_ACCOUNT_PROJECT_ASSIGNMENT = (
    "mongodbatlas:index/serviceAccountProjectAssignment:ServiceAccountProjectAssignment"
)
ATLAS_PROJECT_SERVICE_ACCOUNT = "mongodbatlas:index/projectServiceAccount:ProjectServiceAccount"
ATLAS_PROJECT_API_KEY = "mongodbatlas:index/projectApiKey:ProjectApiKey"
ATLAS_FEDERATED_ROLE_MAPPING = (
    "mongodbatlas:index/federatedSettingsOrgRoleMapping:FederatedSettingsOrgRoleMapping"
)
ATLAS_ORG_INVITATION = "mongodbatlas:index/orgInvitation:OrgInvitation"
ATLAS_USER_ORG_ASSIGNMENT = "mongodbatlas:index/cloudUserOrgAssignment:CloudUserOrgAssignment"
ATLAS_API_KEY = "mongodbatlas:index/apiKey:ApiKey"
ATLAS_SERVICE_ACCOUNT = "mongodbatlas:index/serviceAccount:ServiceAccount"

ATLAS_CLUSTERS = frozenset({ATLAS_ADVANCED_CLUSTER, ATLAS_LEGACY_CLUSTER})
ATLAS_RESTORE_JOBS = frozenset({ATLAS_RESTORE_JOB, ATLAS_COLLECTION_RESTORE_JOB})

# --- AWS (pulumi-aws v7) --------------------------------------------------------------------------------
S3_BUCKET = "aws:s3/bucket:Bucket"
S3_BUCKET_V2 = "aws:s3/bucketV2:BucketV2"
S3_VERSIONING = "aws:s3/bucketVersioning:BucketVersioning"
S3_VERSIONING_V2 = "aws:s3/bucketVersioningV2:BucketVersioningV2"
S3_SSE = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
S3_SSE_V2 = "aws:s3/bucketServerSideEncryptionConfigurationV2:BucketServerSideEncryptionConfigurationV2"
S3_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
S3_REPLICATION = "aws:s3/bucketReplicationConfig:BucketReplicationConfig"
S3_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
S3_LIFECYCLE_V2 = "aws:s3/bucketLifecycleConfigurationV2:BucketLifecycleConfigurationV2"
S3_OBJECT_LOCK = "aws:s3/bucketObjectLockConfiguration:BucketObjectLockConfiguration"
S3_OBJECT_LOCK_V2 = "aws:s3/bucketObjectLockConfigurationV2:BucketObjectLockConfigurationV2"
S3_BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
S3_ACCOUNT_PUBLIC_ACCESS_BLOCK = "aws:s3/accountPublicAccessBlock:AccountPublicAccessBlock"
KMS_KEY = "aws:kms/key:Key"
KMS_REPLICA_KEY = "aws:kms/replicaKey:ReplicaKey"
KMS_ALIAS = "aws:kms/alias:Alias"
IAM_ROLE = "aws:iam/role:Role"
IAM_ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
AWS_PROVIDER = "pulumi:providers:aws"

S3_BUCKETS = frozenset({S3_BUCKET, S3_BUCKET_V2})
S3_VERSIONINGS = frozenset({S3_VERSIONING, S3_VERSIONING_V2})
S3_SSES = frozenset({S3_SSE, S3_SSE_V2})
S3_LIFECYCLES = frozenset({S3_LIFECYCLE, S3_LIFECYCLE_V2})
S3_OBJECT_LOCKS = frozenset({S3_OBJECT_LOCK, S3_OBJECT_LOCK_V2})
KMS_KEYS = frozenset({KMS_KEY, KMS_REPLICA_KEY})

# --- Azure (pulumi-azure-native v3) ---------------------------------------------------------------------
AZ_RESOURCE_GROUP = "azure-native:resources:ResourceGroup"
AZ_STORAGE_ACCOUNT = "azure-native:storage:StorageAccount"
AZ_BLOB_SERVICE = "azure-native:storage:BlobServiceProperties"
AZ_BLOB_CONTAINER = "azure-native:storage:BlobContainer"
AZ_SB_NAMESPACE = "azure-native:servicebus:Namespace"
AZ_SB_QUEUE = "azure-native:servicebus:Queue"
AZ_SB_TOPIC = "azure-native:servicebus:Topic"
AZ_SB_SUBSCRIPTION = "azure-native:servicebus:Subscription"
AZ_METRIC_ALERT = "azure-native:monitor:MetricAlert"
AZ_METRIC_ALERT_V2_ALIAS = "azure-native:insights:MetricAlert"
AZ_ACTION_GROUP = "azure-native:monitor:ActionGroup"
AZ_LOGIC_WORKFLOW = "azure-native:logic:Workflow"

# --- Azure classic (pulumi-azure v6, bridged from the Terraform azurerm provider) -------------------------
# Tokens and property names as the installed `pulumi_azure` SDK spells them. The `eventhub` module still
# ships deprecated copies of the Service Bus resources ("azure.eventhub.Queue has been deprecated in favor
# of azure.servicebus.Queue"), with the same properties, which older programs declare.
AZC_RESOURCE_GROUP = "azure:core/resourceGroup:ResourceGroup"
AZC_STORAGE_ACCOUNT = "azure:storage/account:Account"
AZC_SB_NAMESPACE = "azure:servicebus/namespace:Namespace"
AZC_SB_QUEUE = "azure:servicebus/queue:Queue"
AZC_SB_TOPIC = "azure:servicebus/topic:Topic"
AZC_SB_SUBSCRIPTION = "azure:servicebus/subscription:Subscription"
AZC_SB_NAMESPACE_EVENTHUB_ALIAS = "azure:eventhub/namespace:Namespace"
AZC_SB_QUEUE_EVENTHUB_ALIAS = "azure:eventhub/queue:Queue"
AZC_SB_TOPIC_EVENTHUB_ALIAS = "azure:eventhub/topic:Topic"
AZC_SB_SUBSCRIPTION_EVENTHUB_ALIAS = "azure:eventhub/subscription:Subscription"
AZC_METRIC_ALERT = "azure:monitoring/metricAlert:MetricAlert"
AZC_ACTION_GROUP = "azure:monitoring/actionGroup:ActionGroup"
# A Logic App in classic pulumi-azure: the workflow, and its HTTP actions declared as resources of their own.
AZC_LOGIC_WORKFLOW = "azure:logicapps/workflow:Workflow"
AZC_LOGIC_ACTION_HTTP = "azure:logicapps/actionHttp:ActionHttp"

# Every token of one kind of Azure resource, from either provider (and their deprecated aliases).
AZ_STORAGE_ACCOUNTS = frozenset({AZ_STORAGE_ACCOUNT, AZC_STORAGE_ACCOUNT})
AZ_SB_NAMESPACES = frozenset({AZ_SB_NAMESPACE, AZC_SB_NAMESPACE, AZC_SB_NAMESPACE_EVENTHUB_ALIAS})
AZ_SB_QUEUES = frozenset({AZ_SB_QUEUE, AZC_SB_QUEUE, AZC_SB_QUEUE_EVENTHUB_ALIAS})
AZ_SB_TOPICS = frozenset({AZ_SB_TOPIC, AZC_SB_TOPIC, AZC_SB_TOPIC_EVENTHUB_ALIAS})
AZ_SB_SUBSCRIPTIONS = frozenset({AZ_SB_SUBSCRIPTION, AZC_SB_SUBSCRIPTION, AZC_SB_SUBSCRIPTION_EVENTHUB_ALIAS})
AZ_METRIC_ALERTS = frozenset({AZ_METRIC_ALERT, AZ_METRIC_ALERT_V2_ALIAS, AZC_METRIC_ALERT})
AZ_ACTION_GROUPS = frozenset({AZ_ACTION_GROUP, AZC_ACTION_GROUP})
AZ_LOGIC_WORKFLOWS = frozenset({AZ_LOGIC_WORKFLOW, AZC_LOGIC_WORKFLOW})

# --- Azure application layer (pulumi-azure-native v3) ---------------------------------------------------
AZ_APP_SERVICE_PLAN = "azure-native:web:AppServicePlan"
AZ_WEB_APP = "azure-native:web:WebApp"
AZ_WEB_APP_SLOT = "azure-native:web:WebAppSlot"
AZ_REGISTRY = "azure-native:containerregistry:Registry"
AZ_REGISTRY_REPLICATION = "azure-native:containerregistry:Replication"
AZ_REGISTRY_TASK = "azure-native:containerregistry:Task"
AZ_REDIS = "azure-native:redis:Redis"
AZ_MANAGED_REDIS = "azure-native:redisenterprise:RedisEnterprise"
AZ_ROLE_ASSIGNMENT = "azure-native:authorization:RoleAssignment"
AZ_HOST_NAME_BINDING = "azure-native:web:WebAppHostNameBinding"
AZ_WEB_CERTIFICATE = "azure-native:web:Certificate"
AZ_USER_ASSIGNED_IDENTITY = "azure-native:managedidentity:UserAssignedIdentity"
AZ_MANAGED_REDIS_DATABASE = "azure-native:redisenterprise:Database"

# Classic pulumi-azure (v6) spellings of the application layer, as the installed `pulumi_azure` SDK has them.
AZC_SERVICE_PLAN = "azure:appservice/servicePlan:ServicePlan"
AZC_LINUX_WEB_APP = "azure:appservice/linuxWebApp:LinuxWebApp"
AZC_WINDOWS_WEB_APP = "azure:appservice/windowsWebApp:WindowsWebApp"
AZC_LINUX_WEB_APP_SLOT = "azure:appservice/linuxWebAppSlot:LinuxWebAppSlot"
AZC_WINDOWS_WEB_APP_SLOT = "azure:appservice/windowsWebAppSlot:WindowsWebAppSlot"
AZC_REGISTRY = "azure:containerservice/registry:Registry"
AZC_REGISTRY_TASK = "azure:containerservice/registryTask:RegistryTask"
AZC_REDIS = "azure:redis/cache:Cache"
AZC_MANAGED_REDIS = "azure:managedredis/managedRedis:ManagedRedis"

AZ_APP_SERVICE_PLANS = frozenset({AZ_APP_SERVICE_PLAN, AZC_SERVICE_PLAN})
AZ_WEB_APPS = frozenset({AZ_WEB_APP, AZC_LINUX_WEB_APP, AZC_WINDOWS_WEB_APP})
AZ_WEB_APP_SLOTS = frozenset({AZ_WEB_APP_SLOT, AZC_LINUX_WEB_APP_SLOT, AZC_WINDOWS_WEB_APP_SLOT})
AZ_REGISTRIES = frozenset({AZ_REGISTRY, AZC_REGISTRY})
AZ_REGISTRY_TASKS = frozenset({AZ_REGISTRY_TASK, AZC_REGISTRY_TASK})
AZ_REDIS_CACHES = frozenset({AZ_REDIS, AZ_MANAGED_REDIS, AZC_REDIS, AZC_MANAGED_REDIS})

# --- Cloudflare (pulumi-cloudflare v6) ------------------------------------------------------------------
CF_RULESET = "cloudflare:index/ruleset:Ruleset"
CF_DNS_RECORD = "cloudflare:index/dnsRecord:DnsRecord"
CF_RECORD = "cloudflare:index/record:Record"  # the v4 name, still in programs written for it
CF_DNS_RECORDS = frozenset({CF_DNS_RECORD, CF_RECORD})

# --- backstop's own component resources -----------------------------------------------------------------
COMPONENT_ATLAS = "backstop:atlas:BackupPosture"
COMPONENT_ATLAS_CLUSTER = "backstop:atlas:BackedUpCluster"
COMPONENT_KMS = "backstop:aws:BackupKey"
COMPONENT_BUCKET = "backstop:aws:ReplicatedBucket"
COMPONENT_STORAGE = "backstop:azure:BlobStorage"
COMPONENT_SERVICE_BUS = "backstop:azure:ServiceBus"
COMPONENT_SLACK_ROUTING = "backstop:alerts:SlackRouting"
COMPONENT_APP_SERVICE = "backstop:app:AppService"
COMPONENT_REGISTRY = "backstop:app:ImageRegistry"
COMPONENT_CACHE = "backstop:app:RebuildableCache"
COMPONENT_AVAILABILITY_ALERTS = "backstop:app:AvailabilityAlerts"
COMPONENT_WIDGET_EDGE = "backstop:cloudflare:WidgetEdge"
COMPONENT_BACKUP_ACCESS = "backstop:atlas:BackupAccess"
COMPONENT_CUSTOM_DOMAINS = "backstop:app:CustomDomains"

COMPONENTS = frozenset(
    {
        COMPONENT_ATLAS,
        COMPONENT_ATLAS_CLUSTER,
        COMPONENT_KMS,
        COMPONENT_BUCKET,
        COMPONENT_STORAGE,
        COMPONENT_SERVICE_BUS,
        COMPONENT_SLACK_ROUTING,
        COMPONENT_APP_SERVICE,
        COMPONENT_REGISTRY,
        COMPONENT_CACHE,
        COMPONENT_AVAILABILITY_ALERTS,
        COMPONENT_WIDGET_EDGE,
        COMPONENT_BACKUP_ACCESS,
        COMPONENT_CUSTOM_DOMAINS,
    }
)


def short_name(token: str) -> str:
    """The last segment of a token (`aws:s3/bucket:Bucket` -> `Bucket`), for human-readable output."""
    return token.rsplit(":", 1)[-1]


# Atlas alert event types backstop subscribes to: a backup that silently stops is the failure mode the
# seeds' RPO targets cannot survive ("Backup status: MongoDB Atlas provides backup status and alerts").
# Atlas project roles with access to Cloud Backup, by the operations the Admin API v2 spec's
# `x-rolesRequirements` opens to them (the vendored spec): Project Owner (every operation; the compliance
# policy only to it), Project Backup Manager (schedules, snapshots, export buckets), Project Backup Export
# Operator and Project Backup Recovery Operator (restore jobs, exports), Project Backup Creator (on-demand
# snapshots); Project Cluster Manager, which edits and so can restore onto the clusters it manages; and
# Project Replica Set Manager, which edits replication specs and tiers and pauses clusters. API names as the
# Atlas "Atlas User Roles" page spells them.
ATLAS_BACKUP_CAPABLE_ROLES = (
    "GROUP_OWNER",
    "GROUP_BACKUP_MANAGER",
    "GROUP_BACKUP_EXPORT_OPERATOR",
    "GROUP_BACKUP_RECOVERY_OPERATOR",
    "GROUP_BACKUP_CREATOR",
    "GROUP_CLUSTER_MANAGER",
    "GROUP_REPLICA_SET_MANAGER",
)
# "Organization Owner — Project Owner access to all projects in the organization" (Atlas User Roles).
ATLAS_ORG_OWNER = "ORG_OWNER"
ATLAS_BACKUP_ALERT_EVENTS = (
    "CPS_SNAPSHOT_FAILED",
    "CPS_SNAPSHOT_BEHIND",
    "CPS_COPY_SNAPSHOT_FAILED",
    "CPS_RESTORE_FAILED",
    "CPS_EXPORT_FAILED",
    "CPS_AUTO_EXPORT_FAILED",
    "AWS_ENCRYPTION_KEY_NEEDS_ROTATION",
    "ENCRYPTION_AT_REST_KMS_NETWORK_ACCESS_DENIED",
    "ENCRYPTION_AT_REST_CONFIG_NO_LONGER_VALID",
)

# Event types Atlas refuses without a threshold ("A threshold must be specified for the specified event
# type"), with the operator and units their schema in the Atlas Admin API v2 spec allows:
# `CPS_SNAPSHOT_BEHIND` is a `CpsBackupThresholdAlertConfigViewForNdsGroup` (`GreaterThanTimeThreshold`,
# `TimeMetricUnits`), the key rotation types are `EncryptionKeyAlertConfigViewForNdsGroup`
# (`GreaterThanDaysThresholdView`, `DAYS`).
ATLAS_THRESHOLD_OPERATOR = "GREATER_THAN"
ATLAS_TIME_UNITS = ("NANOSECONDS", "MILLISECONDS", "MILLION_MINUTES", "SECONDS", "MINUTES", "HOURS", "DAYS")
ATLAS_SNAPSHOT_BEHIND = "CPS_SNAPSHOT_BEHIND"
ATLAS_KEY_ROTATION_EVENTS = (
    "AWS_ENCRYPTION_KEY_NEEDS_ROTATION",
    "AZURE_ENCRYPTION_KEY_NEEDS_ROTATION",
    "GCP_ENCRYPTION_KEY_NEEDS_ROTATION",
)
ATLAS_THRESHOLD_UNITS: dict[str, tuple[str, ...]] = {
    ATLAS_SNAPSHOT_BEHIND: ATLAS_TIME_UNITS,
    "CPS_PREV_SNAPSHOT_OLD": ATLAS_TIME_UNITS,
    "CPS_OPLOG_BEHIND": ATLAS_TIME_UNITS,
    **{event: ("DAYS",) for event in ATLAS_KEY_ROTATION_EVENTS},
}
# Atlas notification types that post to Slack in a form Slack shows. A `WEBHOOK` to a Slack incoming
# webhook does not: Atlas posts its own JSON, without the `text` field Slack requires.
ATLAS_SLACK_NOTIFICATION = "SLACK"

# Azure Monitor metric of Service Bus namespaces that counts dead-lettered messages.
SB_DEAD_LETTER_METRIC = "DeadletteredMessages"
SB_METRIC_NAMESPACE = "Microsoft.ServiceBus/namespaces"

# Azure Monitor metrics that tell whether an application-layer resource is available, by the metric
# namespace (the ARM resource type) they belong to. An availability alert watches one of these.
WEB_METRIC_NAMESPACE = "Microsoft.Web/sites"
REDIS_METRIC_NAMESPACE = "Microsoft.Cache/redis"
MANAGED_REDIS_METRIC_NAMESPACE = "Microsoft.Cache/redisEnterprise"
STORAGE_METRIC_NAMESPACE = "Microsoft.Storage/storageAccounts"
WEB_HEALTH_METRIC = "HealthCheckStatus"
WEB_5XX_METRIC = "Http5xx"
REDIS_ERRORS_METRIC = "errors"
REDIS_SERVER_LOAD_METRIC = "serverLoad"
STORAGE_AVAILABILITY_METRIC = "Availability"
AVAILABILITY_METRICS: dict[str, frozenset[str]] = {
    WEB_METRIC_NAMESPACE: frozenset({WEB_HEALTH_METRIC, WEB_5XX_METRIC}),
    REDIS_METRIC_NAMESPACE: frozenset({REDIS_ERRORS_METRIC, REDIS_SERVER_LOAD_METRIC}),
    MANAGED_REDIS_METRIC_NAMESPACE: frozenset({REDIS_SERVER_LOAD_METRIC}),
    STORAGE_METRIC_NAMESPACE: frozenset({STORAGE_AVAILABILITY_METRIC}),
}

# Built-in Azure role that lets an identity pull images from a registry.
ACR_PULL_ROLE_ID = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
# Cloudflare ruleset phases and actions of a Cache Rule and a Cache Response Rule.
CF_CACHE_PHASE = "http_request_cache_settings"
CF_CACHE_ACTION = "set_cache_settings"
CF_CACHE_RESPONSE_PHASE = "http_response_cache_settings"
CF_CACHE_CONTROL_ACTION = "set_cache_control"
