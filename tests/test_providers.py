"""`backstop.providers.provider`: the SDK's own classes, from only the modules that hold them, and the whole
package as soon as a name cannot be placed that way. Run in fresh interpreters, so nothing else has
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
from backstop.providers import provider
cloudflare = provider("pulumi_cloudflare")
ruleset, args, record = cloudflare.Ruleset, cloudflare.RulesetRuleArgs, cloudflare.DnsRecord
loaded = len([m for m in sys.modules if m.startswith("pulumi_cloudflare")])
from pulumi_cloudflare.ruleset import Ruleset
from pulumi_cloudflare._inputs import RulesetRuleArgs
from pulumi_cloudflare.dns_record import DnsRecord
same = ruleset is Ruleset and args is RulesetRuleArgs and record is DnsRecord
zone = cloudflare.ZoneTracing  # its own module, still not the root
partial = len([m for m in sys.modules if m.startswith("pulumi_cloudflare")])
try:
    cloudflare.NoSuchResource  # a name no module is named after: the root runs, then answers
    missing = False
except AttributeError:
    missing = True
import pulumi_cloudflare
complete = len([m for m in sys.modules if m.startswith("pulumi_cloudflare")])
print(json.dumps({"loaded": loaded, "same": same, "partial": partial, "missing": missing,
                  "complete": complete, "zone": zone is pulumi_cloudflare.ZoneTracing,
                  "module": pulumi_cloudflare is cloudflare}))
"""


def test_only_the_modules_of_the_classes_used_then_everything_on_demand() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["same"] is True  # the SDK's own classes
    assert found["loaded"] < 12  # ruleset, dns_record, _inputs, outputs, _utilities, … not 781 modules
    assert found["partial"] == found["loaded"] + 1  # zone_tracing alone
    assert found["missing"] is True
    assert found["complete"] > 700  # the root ran: every resource module is there
    assert found["zone"] is True
    assert found["module"] is True  # one package object, completed in place
