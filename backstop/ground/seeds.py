"""The numbers of the two policy documents backstop is built from, in one place.

`SEED_BACKUP` is the CARTIE backup strategy / DR runbook (Tier 1 Atlas Cloud Backup, RTO & RPO table,
quarterly drill); `SEED_WISER` is the WiserReview "Backup and Recovery" policy (3-node replica sets, Azure
Blob GRS, Service Bus dead-lettering, 1-hour RPO for other systems). Config defaults and policy targets both
read these constants so a number is written once, next to where it comes from.
"""

from __future__ import annotations

from datetime import timedelta

SEED_BACKUP = "CARTIE backup strategy"
SEED_WISER = "WiserReview Backup and Recovery policy"

# Tier 1: "Snapshot cadence: every 6 hours full snapshot + WiredTiger oplog continuous replay"
SNAPSHOT_INTERVAL_HOURS = 6
# Atlas Cloud Backup only accepts these hourly frequencies.
ATLAS_HOURLY_INTERVALS = (1, 2, 4, 6, 8, 12)
# Tier 1: "Retention: 7 daily · 4 weekly · 12 monthly = ~13 month rolling window"
DAILY_RETENTION_DAYS = 7
WEEKLY_RETENTION_WEEKS = 4
MONTHLY_RETENTION_MONTHS = 12
# The "~13 month rolling window" in days (13 months of 365/12 days): how long an offsite export must stay
# recoverable, since it is the copy that outlives Atlas in the 'Total catastrophic loss' scenario.
BACKUP_RETENTION_WINDOW_DAYS = 395
# Staging keeps its weekly export until the next one lands ('Total catastrophic loss' RPO ≤ 7 days).
STAGING_EXPORT_RETENTION_DAYS = 7
# Tier 1: "Point-in-time recovery: down to 1-second granularity within last 7 days"
PITR_WINDOW_DAYS = 7
# Tier 1: "Cross-region copy: enabled (us-east-1 → us-west-2)"
SOURCE_AWS_REGION = "us-east-1"
COPY_AWS_REGION = "us-west-2"
SOURCE_ATLAS_REGION = "US_EAST_1"
COPY_ATLAS_REGION = "US_WEST_2"
# WiserReview: "Minimum 3-node replica sets; automatic failover within seconds"
MIN_ELECTABLE_NODES = 3
# WiserReview: "Azure Blob Storage: ... Geo-Redundant Storage (GRS) where configured"
GEO_REDUNDANT_SKUS = frozenset(
    {
        "Standard_GRS",
        "Standard_RAGRS",
        "Standard_GZRS",
        "Standard_RAGZRS",
        "StandardV2_GRS",
        "StandardV2_GZRS",
    }
)
# Tier 2: "A weekly cron (Sundays 03:00 UTC ...)"
AUDIT_WEEKDAY = 7  # Atlas numbering: 1 = Monday ... 7 = Sunday
AUDIT_HOUR_UTC = 3
# Restoration drill: "spot-check 10 random documents for content equality"
DRILL_SPOT_CHECK_DOCUMENTS = 10
# AWS KMS: the longest pending-deletion window AWS allows, so a scheduled deletion can be caught.
KMS_DELETION_WINDOW_DAYS = 30
# Service Bus: "Automatic retry with configurable intervals before dead-lettering".
MIN_MAX_DELIVERY_COUNT = 3
# ... each lasting at least the service's default 1-minute lock: a 3-minute window before dead-lettering.
MIN_DELIVERY_WINDOW_MINUTES = MIN_MAX_DELIVERY_COUNT * 1
# Blob soft delete covers at least the database PITR window.
MIN_BLOB_SOFT_DELETE_DAYS = 7

# RTO & RPO targets (CARTIE table, WiserReview section 2).
RPO_SINGLE_DOCUMENT = timedelta(0)
RTO_SINGLE_DOCUMENT = timedelta(minutes=30)
RPO_SINGLE_COLLECTION = timedelta(hours=6)
RTO_SINGLE_COLLECTION = timedelta(hours=2)
RPO_WHOLE_CLUSTER = timedelta(hours=6)
RTO_WHOLE_CLUSTER = timedelta(hours=4)
RPO_TOTAL_LOSS = timedelta(days=7)
RTO_TOTAL_LOSS = timedelta(days=1)
RPO_OTHER_SYSTEMS = timedelta(hours=1)
RTO_PLATFORM = timedelta(hours=4)
# Operator emergency runbook: "Notify affected tenants within 1 hour of any data loss event" and
# "Document the loss + recovery in Incident Response registry within 24 hours".
TENANT_NOTICE_DEADLINE = timedelta(hours=1)
INCIDENT_RECORD_DEADLINE = timedelta(hours=24)
# How stale the evidence may get before `backstop status` calls it a breach: the Tier 2 attestation is
# "a weekly cron", and the restoration drill is "quarterly" (92 days: the longest quarter).
AUDIT_MAX_AGE = timedelta(days=7)
DRILL_MAX_AGE = timedelta(days=92)
