"""`backstop.program.providers.provider`: the SDK's own classes, from only the modules that hold them, and
the whole package as soon as a name cannot be placed that way. Run in fresh interpreters, so nothing else has
imported the provider first."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import json, sys
import pulumi
from backstop.program.providers import provider
def count(root):
    return len([m for m in sys.modules if m.split(".")[0] == root])
cloudflare = provider("pulumi_cloudflare")
ruleset, args, record = cloudflare.Ruleset, cloudflare.RulesetRuleArgs, cloudflare.DnsRecord
loaded = count("pulumi_cloudflare")
from pulumi_cloudflare.ruleset import Ruleset
from pulumi_cloudflare._inputs import RulesetRuleArgs
from pulumi_cloudflare.dns_record import DnsRecord
same = ruleset is Ruleset and args is RulesetRuleArgs and record is DnsRecord
# Completing a package on demand, shown on the smaller Atlas provider (Cloudflare's root is 781 modules).
atlas = provider("pulumi_mongodbatlas")
cluster = atlas.AdvancedCluster
partial = count("pulumi_mongodbatlas")
try:
    atlas.NoSuchResource  # a name no module is named after: the root runs, then answers
    missing = False
except AttributeError:
    missing = True
import pulumi_mongodbatlas
print(json.dumps({"loaded": loaded, "same": same, "partial": partial, "missing": missing,
                  "complete": count("pulumi_mongodbatlas"), "module": pulumi_mongodbatlas is atlas,
                  "cluster": cluster is pulumi_mongodbatlas.AdvancedCluster,
                  "schedule": hasattr(pulumi_mongodbatlas, "CloudBackupSchedule")}))
"""


def test_only_the_modules_of_the_classes_used_then_everything_on_demand() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["same"] is True  # the SDK's own classes
    assert found["loaded"] < 12  # ruleset, dns_record, _inputs, outputs, _utilities, … not 781 modules
    assert found["partial"] < 12
    assert found["missing"] is True
    assert found["complete"] > 100  # the root ran: every resource module is there
    assert found["module"] is True  # one package object, completed in place
    assert found["cluster"] is True and found["schedule"] is True
