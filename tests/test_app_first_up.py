"""What the application layer's first real `pulumi up` needs, under Pulumi's mocks: named resources with
named property values (issue 21, "The application layer on its first real `pulumi up`")."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

from backstop.config.stackfile import read_stack_file
from backstop.ground import tokens
from backstop.ground.resources import Resource
from backstop.program.mocks import ProgramRun, run_stack, run_with_mocks, use_mocks
from tests.conftest import ROOT
from tests.policy_support import named

SUBSCRIPTION = "/subscriptions/00000000-0000-0000-0000-000000000000"
KEY_VAULT = (
    f"{SUBSCRIPTION}/resourceGroups/rg-wiser-prod-keys/providers/Microsoft.KeyVault/vaults/wiser-prod-kv"
)
ZONE = "0a1b2c3d4e5f60718293a4b5c6d7e8f9"
STAGING_ZONE = "1b2c3d4e5f60718293a4b5c6d7e8f90a"


def of_type(run: ProgramRun, token: str) -> dict[str, Resource]:
    return {r.name: r for r in run.resources if r.type == token}


def run_changed(stack: str, section: str, change: Any) -> ProgramRun:
    """The stack's program with `change(values)` applied to `backstop:<section>` first."""
    from backstop.program.stack import main

    stack_file = read_stack_file(ROOT, stack)
    config = stack_file.engine_config()
    key = f"backstop:{section}"
    value = copy.deepcopy(stack_file.values[key])
    change(value)
    config[key] = json.dumps(value)
    monitor = use_mocks(stack=stack, config=config)
    return run_with_mocks(main, stack=stack, monitor=monitor)


# --- 1. widget and direct hosts reach an app --------------------------------------------------------------


def test_asuid_records_hold_the_apps_domain_verification_id(prod_run: ProgramRun) -> None:
    app = named(prod_run.resources, "wiser-prod-app")
    records = {r.props["name"]: r for r in prod_run.resources if r.type == tokens.CF_DNS_RECORD}
    assert set(records) == {
        "widget.wiserreview.com",
        "direct.wiserreview.com",
        "asuid.widget.wiserreview.com",
        "asuid.direct.wiserreview.com",
    }
    for host in ("asuid.widget.wiserreview.com", "asuid.direct.wiserreview.com"):
        txt = records[host].props
        assert (txt["type"], txt["proxied"], txt["zoneId"]) == ("TXT", False, ZONE)
        # The app's customDomainVerificationId (the mocks give every app of the subscription one value).
        assert re.fullmatch(r"[0-9A-F]{64}", txt["content"])
        assert records[host].property_dependencies["content"] == (app.urn,)


def test_both_hosts_are_bound_to_the_app_and_its_standby(prod_run: ProgramRun) -> None:
    bindings = of_type(prod_run, tokens.AZ_HOST_NAME_BINDING)
    assert set(bindings) == {
        "wiser-prod-app-widget-host",
        "wiser-prod-app-direct-host",
        "wiser-prod-app-direct-sni",
        "wiser-prod-app-secondary-widget-host",
        "wiser-prod-app-secondary-direct-host",
    }
    expected = {
        "wiser-prod-app-widget-host": ("wiser-prod-app", "widget.wiserreview.com", "Disabled"),
        "wiser-prod-app-direct-host": ("wiser-prod-app", "direct.wiserreview.com", "Disabled"),
        "wiser-prod-app-direct-sni": ("wiser-prod-app", "direct.wiserreview.com", "SniEnabled"),
        "wiser-prod-app-secondary-widget-host": (
            "wiser-prod-app-secondary",
            "widget.wiserreview.com",
            "Disabled",
        ),
        "wiser-prod-app-secondary-direct-host": (
            "wiser-prod-app-secondary",
            "direct.wiserreview.com",
            "Disabled",
        ),
    }
    for name, (site, host, ssl) in expected.items():
        props = bindings[name].props
        assert (props["name"], props["hostName"], props["sslState"]) == (site, host, ssl)
        assert props["hostNameType"] == "Verified" and props["customHostNameDnsRecordType"] == "CName"
        assert props["resourceGroupName"] == "rg-wiser-prod-app"
    # Azure verifies the CNAME and the asuid TXT record when the binding is created: they come first.
    records = {r.urn for r in prod_run.resources if r.type == tokens.CF_DNS_RECORD}
    assert records <= set(bindings["wiser-prod-app-direct-host"].dependencies)


def test_direct_host_has_a_managed_certificate_bound_with_sni(prod_run: ProgramRun) -> None:
    certificates = of_type(prod_run, tokens.AZ_WEB_CERTIFICATE)
    assert set(certificates) == {"wiser-prod-app-direct-cert"}
    cert = certificates["wiser-prod-app-direct-cert"]
    assert cert.props["canonicalName"] == "direct.wiserreview.com"
    assert cert.props["serverFarmId"].endswith("/Microsoft.Web/serverfarms/asp-wiser-prod")
    assert cert.props["location"] == "eastus"
    # A managed certificate is issued only for a host already bound to the app.
    assert named(prod_run.resources, "wiser-prod-app-direct-host").urn in cert.dependencies
    sni = named(prod_run.resources, "wiser-prod-app-direct-sni")
    assert re.fullmatch(r"[0-9A-F]{40}", sni.props["thumbprint"])
    assert sni.property_dependencies["thumbprint"] == (cert.urn,)


def test_standby_taking_traffic_gets_the_records_and_the_managed_certificate() -> None:
    run = run_changed("prod", "app", lambda app: app["secondary"].update(takesTraffic=True))
    records = {r.props["name"]: r.props for r in run.resources if r.type == tokens.CF_DNS_RECORD}
    assert records["widget.wiserreview.com"]["content"] == "wiser-prod-app-secondary.azurewebsites.net"
    assert records["direct.wiserreview.com"]["content"] == "wiser-prod-app-secondary.azurewebsites.net"
    assert set(of_type(run, tokens.AZ_WEB_CERTIFICATE)) == {"wiser-prod-app-secondary-direct-cert"}
    cert = named(run.resources, "wiser-prod-app-secondary-direct-cert").props
    assert cert["location"] == "centralus"
    assert cert["serverFarmId"].endswith("/serverfarms/asp-wiser-prod-centralus")
    assert named(run.resources, "wiser-prod-app-secondary-direct-sni").props["sslState"] == "SniEnabled"


def test_key_vault_certificate_is_bound_with_sni_in_both_regions_from_the_first_up() -> None:
    certificate = {"keyVaultId": KEY_VAULT, "secretName": "direct-wiserreview-com"}
    run = run_changed("prod", "cloudflare", lambda cf: cf.update(directCertificate=certificate))
    certificates = of_type(run, tokens.AZ_WEB_CERTIFICATE)
    assert set(certificates) == {"wiser-prod-app-direct-cert", "wiser-prod-app-secondary-direct-cert"}
    for site in ("wiser-prod-app", "wiser-prod-app-secondary"):
        cert = certificates[f"{site}-direct-cert"]
        assert cert.props["keyVaultId"] == KEY_VAULT
        assert cert.props["keyVaultSecretName"] == "direct-wiserreview-com"
        assert "canonicalName" not in cert.props
        binding = named(run.resources, f"{site}-direct-host")
        assert binding.props["sslState"] == "SniEnabled"
        assert binding.property_dependencies["thumbprint"] == (cert.urn,)
    assert not [r for r in run.resources if r.name.endswith("-direct-sni")]


# --- 2. one stack owns each zone's entry-point rulesets ---------------------------------------------------


def test_each_stack_declares_the_entry_point_rulesets_of_its_own_zone(
    prod_run: ProgramRun, staging_run: ProgramRun
) -> None:
    for run, zone in ((prod_run, ZONE), (staging_run, STAGING_ZONE)):
        rulesets = {r.name: r.props for r in run.resources if r.type == tokens.CF_RULESET}
        assert set(rulesets) == {"widget-edge-cache-rules", "widget-edge-stale-if-error"}
        assert {(p["kind"], p["phase"], p["zoneId"]) for p in rulesets.values()} == {
            ("zone", "http_request_cache_settings", zone),
            ("zone", "http_response_cache_settings", zone),
        }


def _project(tmp_path: Path, staging_owns: bool | None) -> Path:
    """A copy of the project with staging in prod's zone, `ownsEntryPointRulesets` as given (None: unset,
    which defaults to owning)."""
    import shutil

    import yaml

    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    path = tmp_path / "Pulumi.staging.yaml"
    document = yaml.safe_load(path.read_text())
    cloudflare = document["config"]["backstop:cloudflare"]
    cloudflare.update(zoneId=ZONE, zoneName="wiserreview.com")
    cloudflare.pop("ownsEntryPointRulesets", None)
    if staging_owns is not None:
        cloudflare["ownsEntryPointRulesets"] = staging_owns
    path.write_text(yaml.safe_dump(document))
    return tmp_path


def test_a_stack_sharing_the_zone_declares_none_and_the_owner_names_its_widget_host(
    tmp_path: Path,
) -> None:
    project = _project(tmp_path, staging_owns=False)
    staging = run_stack(project, "staging")
    assert not [r for r in staging.resources if r.type == tokens.CF_RULESET]
    prod = run_stack(project, "prod")
    for name in ("widget-edge-cache-rules", "widget-edge-stale-if-error"):
        [rule] = named(prod.resources, name).props["rules"]
        assert rule["expression"] == (
            '(http.host eq "widget.wiserreview.com" and starts_with(http.request.uri.path, "/widget/")) or '
            '(http.host eq "widget.staging.wiserreview.com" and '
            'starts_with(http.request.uri.path, "/widget/"))'
        )


@pytest.mark.parametrize("staging_owns", [True, None])
def test_two_stacks_owning_one_zone_are_refused_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], staging_owns: bool | None
) -> None:
    from backstop.cli import main as cli_main

    project = _project(tmp_path, staging_owns)
    code = cli_main(["plan", "--stack", "staging", "--project-dir", str(project)])
    out, err = capsys.readouterr()
    assert code == 2 and out == ""
    assert err.strip() == (
        "backstop: Pulumi.prod.yaml, Pulumi.staging.yaml: backstop:cloudflare.ownsEntryPointRulesets: each "
        f"would own the entry-point rulesets of zone {ZONE} (Cloudflare allows one per phase per zone); set "
        "it false in all but one, or give the others their own zone"
    )


def test_zone_owners_reads_every_stack_file(tmp_path: Path) -> None:
    from backstop.config.zones import shared_widget_hosts, zone_owners

    assert zone_owners(ROOT) == {ZONE: ["Pulumi.prod.yaml"], STAGING_ZONE: ["Pulumi.staging.yaml"]}
    assert shared_widget_hosts(ROOT, ZONE) == []
    assert zone_owners(_project(tmp_path, None)) == {ZONE: ["Pulumi.prod.yaml", "Pulumi.staging.yaml"]}
    shared = _project(tmp_path, False)
    assert zone_owners(shared) == {ZONE: ["Pulumi.prod.yaml"]}
    assert shared_widget_hosts(shared, ZONE) == [("widget.staging.wiserreview.com", "/widget/")]


# --- 3. a slot swap exchanges different releases --------------------------------------------------------

SITES = [
    "wiser-prod-app",
    "wiser-prod-app-staging",
    "wiser-prod-app-secondary",
    "wiser-prod-app-secondary-staging",
]


def test_sites_start_from_a_release_tag_and_leave_the_image_to_the_pipeline() -> None:
    from backstop.program.stack import main

    config = read_stack_file(ROOT, "prod").engine_config()
    monitor = use_mocks(stack="prod", config=config)
    run_with_mocks(main, stack="prod", monitor=monitor)
    sites = {
        r.name: r for r in monitor.registrations if r.type in (tokens.AZ_WEB_APP, tokens.AZ_WEB_APP_SLOT)
    }
    assert set(sites) == set(SITES)
    for site in sites.values():
        assert site.inputs["siteConfig"]["linuxFxVersion"] == (
            "DOCKER|wiserprodacr.azurecr.io/wiserreview/app:2026.12.05-1"
        )
        assert site.ignore_changes == ("siteConfig.linuxFxVersion",)
    # Nothing else of the program is left to the cloud.
    assert {r.name for r in monitor.registrations if r.ignore_changes} == set(SITES)


@pytest.mark.parametrize("site", SITES)
def test_a_swap_warms_up_on_the_health_check_path(prod_run: ProgramRun, site: str) -> None:
    settings = {
        s["name"]: s["value"] for s in named(prod_run.resources, site).props["siteConfig"]["appSettings"]
    }
    assert settings["WEBSITE_SWAP_WARMUP_PING_PATH"] == "/healthz"
    assert settings["WEBSITE_SWAP_WARMUP_PING_STATUSES"] == "200,202"


def test_an_image_digest_is_deployed_by_digest() -> None:
    digest = "sha256:" + "ab" * 32

    def by_digest(app: dict[str, Any]) -> None:
        del app["apps"][0]["imageTag"]
        app["apps"][0]["imageDigest"] = digest

    run = run_changed("prod", "app", by_digest)
    site = named(run.resources, "wiser-prod-app").props["siteConfig"]
    assert site["linuxFxVersion"] == f"DOCKER|wiserprodacr.azurecr.io/wiserreview/app@{digest}"


@pytest.mark.parametrize(
    ("change", "line"),
    [
        (
            {"imageTag": "stable"},
            "Pulumi.prod.yaml: backstop:app.apps[0]: imageTag stable moves from release to release: a slot "
            "swap would exchange identical images; use the release's own tag (e.g. 2026.12.05-1) or "
            "imageDigest",
        ),
        (
            {"imageTag": "latest"},
            "Pulumi.prod.yaml: backstop:app.apps[0]: imageTag latest moves from release to release: a slot "
            "swap would exchange identical images; use the release's own tag (e.g. 2026.12.05-1) or "
            "imageDigest",
        ),
        (
            {"imageDigest": "sha256:" + "0" * 64},
            "Pulumi.prod.yaml: backstop:app.apps[0]: give the first release's image as imageTag or "
            "imageDigest (one of them)",
        ),
        (
            {"imageDigest": "sha256:short"},
            "Pulumi.prod.yaml: backstop:app.apps[0].imageDigest: String should match pattern "
            "'^sha256:[0-9a-f]{64}$' (got 'sha256:short')",
        ),
    ],
)
def test_a_moving_or_ambiguous_image_is_refused_in_one_line(change: dict[str, str], line: str) -> None:
    from backstop.config import ConfigError, load_stack_config

    sections = read_stack_file(ROOT, "prod").backstop_sections()
    sections["app"]["apps"][0].update(change)
    with pytest.raises(ConfigError) as raised:
        load_stack_config(sections, "Pulumi.prod.yaml")
    assert str(raised.value) == line


# --- 4. apps pull their first image ---------------------------------------------------------------------


def test_acr_pull_is_granted_to_a_user_identity_before_any_site_exists(prod_run: ProgramRun) -> None:
    identity = named(prod_run.resources, "id-app-acr-pull")
    assert identity.type == tokens.AZ_USER_ASSIGNED_IDENTITY
    assert (identity.props["resourceName"], identity.props["location"]) == ("id-app-acr-pull", "eastus")
    grant = named(prod_run.resources, "id-app-acr-pull-grant")
    assert grant.property_dependencies["principalId"] == (identity.urn,)
    assert grant.props["roleDefinitionId"].endswith(f"/roleDefinitions/{tokens.ACR_PULL_ROLE_ID}")
    assert grant.props["scope"].endswith("/Microsoft.ContainerRegistry/registries/wiserprodacr")
    for site in SITES:
        resource = named(prod_run.resources, site)
        config = resource.props["siteConfig"]
        assert config["acrUseManagedIdentityCreds"] is True
        # The identity's client id, as App Service expects in acrUserManagedIdentityID.
        assert re.fullmatch(r"[0-9a-f-]{36}", config["acrUserManagedIdentityID"])
        assert identity.urn in resource.property_dependencies["siteConfig"]
        assert resource.props["identity"]["type"] == "UserAssigned"
        # Created only once the grant exists: App Service pulls the image while it creates the site.
        assert grant.urn in resource.dependencies


# --- 5. the cache on Azure Managed Redis ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("sku", "line"),
    [
        (
            "Standard",
            "Pulumi.prod.yaml: backstop:app.redis.sku: Standard is an Azure Cache for Redis tier, retiring "
            "on 2028-09-30; use an Azure Managed Redis SKU such as Balanced_B1",
        ),
        (
            "Balanced",
            "Pulumi.prod.yaml: backstop:app.redis.sku: expected an Azure Managed Redis SKU such as "
            "Balanced_B1 (got 'Balanced')",
        ),
    ],
)
def test_a_retiring_or_unknown_cache_sku_is_refused_in_one_line(sku: str, line: str) -> None:
    from backstop.config import ConfigError, load_stack_config

    sections = read_stack_file(ROOT, "prod").backstop_sections()
    sections["app"]["redis"]["sku"] = sku
    with pytest.raises(ConfigError) as raised:
        load_stack_config(sections, "Pulumi.prod.yaml")
    assert str(raised.value) == line


# --- 6. alert timings Azure accepts -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "value", "line"),
    [
        (
            "evaluationFrequency",
            "PT2M",
            "Pulumi.prod.yaml: backstop:app.alerts.evaluationFrequency: Azure allows a metric alert "
            "evaluation frequency of PT1M, PT5M, PT15M, PT30M, PT1H (got 'PT2M')",
        ),
        (
            "evaluationFrequency",
            "PT6H",
            "Pulumi.prod.yaml: backstop:app.alerts.evaluationFrequency: Azure allows a metric alert "
            "evaluation frequency of PT1M, PT5M, PT15M, PT30M, PT1H (got 'PT6H')",
        ),
        (
            "windowSize",
            "PT10M",
            "Pulumi.prod.yaml: backstop:app.alerts.windowSize: Azure allows a metric alert window size of "
            "PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D (got 'PT10M')",
        ),
        (
            "windowSize",
            "P2D",
            "Pulumi.prod.yaml: backstop:app.alerts.windowSize: Azure allows a metric alert window size of "
            "PT1M, PT5M, PT15M, PT30M, PT1H, PT6H, PT12H, P1D (got 'P2D')",
        ),
    ],
)
def test_alert_timings_azure_rejects_are_refused_in_one_line(key: str, value: str, line: str) -> None:
    from backstop.config import ConfigError, load_stack_config

    sections = read_stack_file(ROOT, "prod").backstop_sections()
    sections["app"].setdefault("alerts", {})[key] = value
    with pytest.raises(ConfigError) as raised:
        load_stack_config(sections, "Pulumi.prod.yaml")
    assert str(raised.value) == line


@pytest.mark.parametrize(("frequency", "window"), [("PT1H", "P1D"), ("PT15M", "PT6H"), ("PT5M", "PT12H")])
def test_alert_timings_azure_accepts_are_declared(frequency: str, window: str) -> None:
    run = run_changed(
        "prod", "app", lambda app: app.update(alerts={"evaluationFrequency": frequency, "windowSize": window})
    )
    alert = named(run.resources, "wiser-prod-app-http5xx-alert").props
    assert (alert["evaluationFrequency"], alert["windowSize"]) == (frequency, window)


def test_only_the_running_stacks_zone_is_checked(tmp_path: Path) -> None:
    """A conflict in another zone is that zone's stacks' to resolve, not a reason to refuse this one."""
    import shutil

    from backstop.config import ConfigError
    from backstop.config.zones import check_zone_owners

    for name in ("Pulumi.yaml", "Pulumi.prod.yaml", "Pulumi.staging.yaml"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copy(ROOT / "Pulumi.staging.yaml", tmp_path / "Pulumi.dev.yaml")  # dev owns staging's zone too
    check_zone_owners(tmp_path, ZONE)
    with pytest.raises(ConfigError, match=r"^Pulumi\.dev\.yaml, Pulumi\.staging\.yaml: backstop:cloudflare"):
        check_zone_owners(tmp_path, STAGING_ZONE)
