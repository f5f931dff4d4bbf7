"""The config layer: `StackConfig` and its sections, by area, read from the stack files and nowhere else.

`stack` composes the sections (`atlas`, `aws`, `azure`, `app`, `operations`) into `StackConfig`; `types` and
`common` hold the typed building blocks, `names` Azure's and AWS's global-name rules, `stackfile` the reading
of `Pulumi.<stack>.yaml`, `tenants` which databases are tenants. This module re-exports the names callers use,
so `from backstop.config import StackConfig` is the one way in.
"""

from backstop.config.atlas import AlertsConfig, AtlasConfig, BackupScheduleConfig, ClusterConfig
from backstop.config.aws import ObjectLockConfig, replica_bucket_name
from backstop.config.azure import ServiceBusConfig, StorageConfig
from backstop.config.common import NAMESPACE, OFFLINE_SECRET, SECRET_KEYS, ConfigError, Environment
from backstop.config.operations import SRV_HOST_PATTERN, DrillConfig, ObjectivesConfig
from backstop.config.stack import StackConfig, from_pulumi_config, load_stack_config, stack_file_name
from backstop.config.tenants import is_tenant_database, source_cluster_name, tenant_databases
from backstop.config.types import parse_duration

__all__ = [
    "NAMESPACE",
    "OFFLINE_SECRET",
    "SECRET_KEYS",
    "SRV_HOST_PATTERN",
    "AlertsConfig",
    "AtlasConfig",
    "BackupScheduleConfig",
    "ClusterConfig",
    "ConfigError",
    "DrillConfig",
    "Environment",
    "ObjectLockConfig",
    "ObjectivesConfig",
    "ServiceBusConfig",
    "StackConfig",
    "StorageConfig",
    "from_pulumi_config",
    "is_tenant_database",
    "load_stack_config",
    "parse_duration",
    "replica_bucket_name",
    "source_cluster_name",
    "stack_file_name",
    "tenant_databases",
]
