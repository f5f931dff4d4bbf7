"""`backstop drill rollback`: against a local fake of the ARM endpoints over HTTPS, with azure-mgmt-web's
real client and request classes, a local fake of the registry's data plane (tags resolved to digests),
mongomock as the evidence store and an injected clock."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import mongomock
import pytest
import requests
from azure.core.credentials import AccessToken, AccessTokenInfo
from azure.mgmt.web import WebSiteManagementClient

from backstop.cli import main
from backstop.clients.registry import ACR_SCOPE, MANIFEST_MEDIA_TYPES, AcrDigests, RegistryError
from backstop.config.stackfile import read_stack_file
from backstop.ground.envelope import tool_version
from backstop.operations.rollback import drill as rollback
from backstop.operations.rollback import images
from backstop.report.evidence import DRILL_RESULTS_COLLECTION
from backstop.report.objectives import derive, measured_restore_times
from tests.conftest import ROOT
from tests.fakes.arm_server import FakeArm, FakeWebApp
from tests.fakes.registry_server import FakeRegistry
from tests.json_documents import assert_valid

ENVELOPE = {"schemaVersion": 1, "toolVersion": tool_version(), "command": "drill rollback"}
SUBSCRIPTION = "00000000-0000-0000-0000-0000000000aa"
GROUP, APP = "rg-wiser-staging-app", "wiser-staging-app"
REGISTRY, REPOSITORY = "wiserstagingacr.azurecr.io", "wiserreview/app"
BEFORE, STAGED = (
    f"DOCKER|{REGISTRY}/{REPOSITORY}:v41",
    f"DOCKER|{REGISTRY}/{REPOSITORY}:v42",
)
DIGEST_41, DIGEST_42 = "sha256:" + "41" * 32, "sha256:" + "42" * 32


class _Credential:
    """A token credential for the fakes: ARM wants a bearer token, the fake checks there is one; the
    registry's exchange takes it as the Azure AD token. `scopes` records what each token was asked for."""

    def __init__(self) -> None:
        self.scopes: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.scopes.append(scopes)
        return AccessToken("drill-token", 4102444800)

    def get_token_info(self, *scopes: str, options: Any = None) -> AccessTokenInfo:
        return AccessTokenInfo("drill-token", 4102444800)


class _Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 18, 6, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def registry() -> Iterator[FakeRegistry]:
    """The staging registry: `v41` is production's release, `v42` the staged one."""
    tags = {(REPOSITORY, "v41"): DIGEST_41, (REPOSITORY, "v42"): DIGEST_42}
    with FakeRegistry(REGISTRY, tags) as fake:
        yield fake


@pytest.fixture
def credential() -> _Credential:
    return _Credential()


def _digests(registry: FakeRegistry, credential: _Credential) -> AcrDigests:
    """The real resolver, every login server answered by the fake (which checks the `service`)."""
    return AcrDigests(
        lambda: credential.get_token(ACR_SCOPE).token,
        endpoint=lambda host: registry.base_url,
        verify=str(registry.cert),
    )


@pytest.fixture
def world(
    monkeypatch: pytest.MonkeyPatch, registry: FakeRegistry, credential: _Credential
) -> Iterator[tuple[FakeArm, Any, _Clock]]:
    app = FakeWebApp(SUBSCRIPTION, GROUP, APP, BEFORE, STAGED)
    evidence = mongomock.MongoClient()
    clock = _Clock()
    with FakeArm(app) as fake:

        def client(subscription: str) -> WebSiteManagementClient:
            return WebSiteManagementClient(
                credential,
                subscription,
                base_url=fake.base_url,
                connection_verify=str(fake.cert),
                polling_interval=0,
            )

        def probe(url: str) -> int:
            clock.sleep(20)  # each probe takes a while on the clock
            return requests.get(fake.app_url(url), verify=str(fake.cert), timeout=10).status_code

        runtime = rollback.RollbackRuntime(
            client=client,
            probe=probe,
            connect=lambda uri: evidence,
            clock=clock,
            sleep=clock.sleep,
            env={
                "AZURE_SUBSCRIPTION_ID": SUBSCRIPTION,
                "BACKSTOP_EVIDENCE_MONGODB_URI": "mongodb://evidence",
            },
            registry=lambda: _digests(registry, credential),
        )
        monkeypatch.setattr(rollback, "RUNTIME", runtime)
        yield fake, evidence, clock


def _drill(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, *extra: str
) -> tuple[int, str, str, dict[str, Any]]:
    result = tmp_path / "rollback.json"
    code = main(
        [
            "drill",
            "rollback",
            "--stack",
            "staging",
            "--project-dir",
            str(ROOT),
            "--quiet",
            "--summary",
            str(tmp_path / "rollback.md"),
            "--result-json",
            str(result),
            *extra,
        ]
    )
    out, err = capsys.readouterr()
    document = json.loads(result.read_text()) if result.exists() else {}
    return code, out, err, document


def test_a_healthy_swap_is_timed_recorded_and_swapped_back(world: Any, capsys: Any, tmp_path: Path) -> None:
    fake, evidence, _ = world
    code, out, err, document = _drill(capsys, tmp_path)
    assert code == 0, err
    # Two swaps of the staging slot with production, each with the real request body.
    assert fake.app.swap_requests == [{"targetSlot": "staging", "preserveVnet": True}] * 2
    # Each swap answered 202 + Location; the SDK polled the Location until it answered 200.
    assert fake.app.operation_polls == [("op1", 202), ("op1", 200), ("op2", 202), ("op2", 200)]
    assert fake.app.production_image == BEFORE and fake.app.staging_image == STAGED
    assert fake.app.unauthenticated == 0
    assert fake.app.health_probes == [f"/_app/{APP}.azurewebsites.net/healthz"]
    assert document["mechanism"] == "slot_swap" and document["swappedBack"] is True
    assert document["timeToRestoreSeconds"] == 20.0 and document["rtoSeconds"] == 900.0
    assert document["images"] == {"productionBefore": BEFORE, "staged": STAGED, "productionAfter": BEFORE}
    assert document["imageDigests"] == {"productionBefore": DIGEST_41, "staged": DIGEST_42}
    assert document["nothingToRollBack"] is None and document["imagesNotCompared"] is None
    assert document["passed"] is True and document["errors"] == []
    [stored] = list(evidence["backstop"][DRILL_RESULTS_COLLECTION].find({}, {"_id": 0}))
    assert stored == document
    assert out.rstrip().splitlines()[-1].startswith("PASSED: application rollback (slot swap) 20 s")
    assert (tmp_path / "rollback.md").read_text() == out.rstrip() + "\n"


def test_the_rollback_drill_answers_in_json(world: Any, capsys: Any, tmp_path: Path) -> None:
    code, out, err, document = _drill(capsys, tmp_path, "--format", "json")
    assert code == 0, err
    printed = assert_valid(out, "drill rollback")
    assert printed == json.loads(json.dumps({**ENVELOPE, **document}))
    assert printed["kind"] == "application-rollback"  # the result's own kind, under the envelope


def test_the_sdk_waits_as_each_202_says_before_polling_the_location(
    world: Any, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`Retry-After` on each in-progress answer of the swap's Location is what azure-core's poller sleeps
    (it polls once at once after the request's 202, then waits as each 202 says)."""
    from azure.core.pipeline.transport import HttpTransport

    fake, _, _ = world
    fake.retry_after = 7
    waits: list[float] = []
    monkeypatch.setattr(HttpTransport, "sleep", lambda self, seconds: waits.append(seconds))
    code, _, err, _ = _drill(capsys, tmp_path)
    assert code == 0, err
    # Per swap, one wait: after the first poll's 202; two swaps.
    assert waits == [7, 7]
    assert fake.app.operation_polls == [("op1", 202), ("op1", 200), ("op2", 202), ("op2", 200)]


def test_the_report_takes_the_measured_swap_time(
    world: Any, capsys: Any, tmp_path: Path, staging_run: Any
) -> None:
    code, _, _, document = _drill(capsys, tmp_path)
    assert code == 0
    cfg = read_stack_file(ROOT, "staging").stack_config()
    report = derive(
        staging_run.resources, cfg.objectives, stack="staging", measured=measured_restore_times([document])
    )
    row = next(s for s in report.scenarios if s.key == "faulty_deployment")
    assert (row.achieved_rto, row.rto_basis) == (timedelta(seconds=20), "measured by drill")


def test_a_failed_health_check_fails_the_drill_and_still_swaps_back(
    world: Any, capsys: Any, tmp_path: Path
) -> None:
    fake, evidence, clock = world
    fake.app.unhealthy_images = {STAGED}
    start = clock.now
    code, out, _err, document = _drill(capsys, tmp_path)
    assert code == 1
    assert fake.app.production_image == BEFORE
    assert document["healthy"] is False and document["swappedBack"] is True
    assert document["timeToRestoreSeconds"] is None and document["passed"] is False
    assert document["errors"] == [
        f"health check https://{APP}.azurewebsites.net/healthz not healthy within 900 s (last answer 503)"
    ]
    # Probed every 10 s (and 20 s a probe) until the 15-minute timeout.
    assert clock.now - start >= timedelta(minutes=15)
    assert set(document["probes"]) == {503}
    assert evidence["backstop"][DRILL_RESULTS_COLLECTION].count_documents({"passed": False}) == 1
    assert out.rstrip().splitlines()[-1].startswith("FAILED: application rollback (slot swap) not measured")


@pytest.mark.parametrize("half_applied", [True, False], ids=["images-exchanged", "nothing-applied"])
@pytest.mark.parametrize("staged", [STAGED, BEFORE], ids=["different-images", "equal-images"])
def test_an_interrupted_swap_always_ends_swapped_back(
    world: Any, capsys: Any, tmp_path: Path, half_applied: bool, staged: str
) -> None:
    """The swap's Location answers 409 (the long-running operation failed) after the images were, or were
    not, exchanged; with equal images the drill never gets there: nothing to roll back to."""
    fake, _, _ = world
    fake.app.staging_image = staged
    fake.app.fail_swaps = {1}
    fake.app.half_applied = half_applied
    code, _, err, document = _drill(capsys, tmp_path)
    assert code == 1
    assert fake.app.production_image == BEFORE and fake.app.staging_image == staged
    assert document["swapped"] is False and document["swappedBack"] is True
    assert "NOT SWAPPED BACK" not in err
    if staged == BEFORE:
        assert fake.app.swap_requests == [] and fake.app.operation_polls == []
        assert document["swapBacks"] == 0 and document["errors"] == [document["nothingToRollBack"]]
        return
    # The failed swap was polled on its Location until the HTTP error; swapped back only when the failed
    # swap had exchanged the images.
    assert fake.app.operation_polls[:2] == [("op1", 202), ("op1", 409)]
    assert document["swapBacks"] == (1 if half_applied else 0)
    assert len(fake.app.swap_requests) == (2 if half_applied else 1)
    assert document["errors"][0].startswith("swap into production: HttpResponseError")
    assert "the swap was interrupted" in document["errors"][0]


def test_a_failed_swap_back_is_retried_until_production_is_restored(
    world: Any, capsys: Any, tmp_path: Path
) -> None:
    fake, _, _ = world
    fake.app.fail_swaps = {2}  # the first swap back fails on its Location (409, not retried by the SDK)
    code, _, _, document = _drill(capsys, tmp_path)
    assert fake.app.production_image == BEFORE
    assert [poll for poll in fake.app.operation_polls if poll[0] == "op2"] == [("op2", 202), ("op2", 409)]
    assert document["swappedBack"] is True and document["swapBacks"] == 2
    assert code == 1 and document["errors"][0].startswith("swap back #1: HttpResponseError")


def test_a_swap_that_cannot_start_is_an_http_error_not_a_poll(
    world: Any, capsys: Any, tmp_path: Path
) -> None:
    """A 409 on the swap request itself (the SDK accepts only 200 or 202) fails before any poll."""
    fake, _, _ = world
    fake.app.fail_requests = {1}
    fake.app.fail_request_status = 409
    code, _, _, document = _drill(capsys, tmp_path)
    assert code == 1 and fake.app.operation_polls == [] and len(fake.app.swap_requests) == 1
    assert document["errors"][0].startswith("swap into production: ResourceExistsError")
    assert fake.app.production_image == BEFORE and document["swappedBack"] is True


@pytest.mark.parametrize(
    "staged",
    [
        BEFORE,
        "docker|WiserStagingAcr.azurecr.io/wiserreview/app:v41",
    ],
    ids=["same-reference", "same-reference-other-case"],
)
def test_slots_on_the_same_image_fail_in_one_line_without_a_swap(
    world: Any, capsys: Any, tmp_path: Path, staged: str
) -> None:
    """Production and the `staging` slot on one moving tag: a swap would exchange identical configuration
    and the images would compare equal afterwards; the drill fails, records it, and swaps nothing."""
    fake, evidence, _ = world
    fake.app.staging_image = staged
    code, out, err, document = _drill(capsys, tmp_path)
    reason = (
        f"production and the staging slot both run {BEFORE}: there is nothing to roll back to "
        "(deploy each release to the slot under its own tag or digest)"
    )
    assert code == 1
    assert err == f"backstop: drill rollback FAILED on {APP}: {reason}\n"
    assert fake.app.swap_requests == [] and fake.app.health_probes == []
    assert document["nothingToRollBack"] == reason and document["errors"] == [reason]
    assert document["passed"] is False and document["timeToRestoreSeconds"] is None
    assert evidence["backstop"][DRILL_RESULTS_COLLECTION].count_documents({"passed": False}) == 1
    assert out.rstrip().splitlines()[-1] == f"FAILED: application rollback (slot swap) not run: {reason}"


def test_the_same_reference_is_not_resolved(
    world: Any, registry: FakeRegistry, capsys: Any, tmp_path: Path
) -> None:
    """One tag in both slots names one image now, whatever the registry says: no registry call."""
    fake, _, _ = world
    fake.app.staging_image = BEFORE
    code, _, _, document = _drill(capsys, tmp_path)
    assert code == 1 and registry.requests == [] and fake.app.swap_requests == []
    assert document["imageDigests"] == {"productionBefore": None, "staged": None}


def test_a_release_tag_and_a_digest_of_the_same_image_fail_in_one_line_without_a_swap(
    world: Any, registry: FakeRegistry, credential: _Credential, capsys: Any, tmp_path: Path
) -> None:
    """Production on its release tag, the pipeline's deploy to the slot by digest of that same build: a
    swap would exchange one image for itself. The tag is resolved on the registry's data plane."""
    fake, evidence, _ = world
    staged = f"DOCKER|{REGISTRY}/{REPOSITORY}@{DIGEST_41}"
    fake.app.staging_image = staged
    code, out, err, document = _drill(capsys, tmp_path)
    reason = (
        f"production ({BEFORE}) and the staging slot ({staged}) run the same image {DIGEST_41}: "
        "there is nothing to roll back to (deploy another release to the slot)"
    )
    assert code == 1
    assert err == f"backstop: drill rollback FAILED on {APP}: {reason}\n"
    assert fake.app.swap_requests == [] and fake.app.health_probes == []
    assert document["nothingToRollBack"] == reason and document["errors"] == [reason]
    assert document["imageDigests"] == {"productionBefore": DIGEST_41, "staged": DIGEST_41}
    assert document["passed"] is False
    assert evidence["backstop"][DRILL_RESULTS_COLLECTION].count_documents({"passed": False}) == 1
    assert out.rstrip().splitlines()[-1] == f"FAILED: application rollback (slot swap) not run: {reason}"
    # ACR's exchange, then a pull token for the repository, then one HEAD of the tag (the digest is its own).
    assert registry.calls() == [
        ("POST", "/oauth2/exchange"),
        ("POST", "/oauth2/token"),
        ("HEAD", f"/v2/{REPOSITORY}/manifests/v41"),
    ]
    exchange, token, head = registry.requests
    assert exchange.form == {"grant_type": "access_token", "service": REGISTRY, "access_token": "drill-token"}
    assert token.form == {
        "grant_type": "refresh_token",
        "service": REGISTRY,
        "scope": f"repository:{REPOSITORY}:pull",
        "refresh_token": "refresh-1",
    }
    assert head.headers["Authorization"] == "Bearer access-1"
    assert head.headers["Accept"].split(", ") == list(MANIFEST_MEDIA_TYPES)
    assert (ACR_SCOPE,) in credential.scopes


def test_a_release_tag_and_a_digest_of_another_image_are_swapped_as_before(
    world: Any, registry: FakeRegistry, capsys: Any, tmp_path: Path
) -> None:
    fake, _, _ = world
    staged = f"DOCKER|{REGISTRY}/{REPOSITORY}@{DIGEST_42}"
    fake.app.staging_image = staged
    code, _, err, document = _drill(capsys, tmp_path)
    assert code == 0, err
    assert fake.app.swap_requests == [{"targetSlot": "staging", "preserveVnet": True}] * 2
    assert fake.app.production_image == BEFORE and fake.app.staging_image == staged
    assert document["imageDigests"] == {"productionBefore": DIGEST_41, "staged": DIGEST_42}
    assert document["passed"] is True and document["nothingToRollBack"] is None
    assert registry.calls()[-1] == ("HEAD", f"/v2/{REPOSITORY}/manifests/v41")


@pytest.mark.parametrize(
    ("fault", "why"),
    [
        ("exchange", f"registry {REGISTRY}: POST /oauth2/exchange answered 403 DENIED"),
        ("token", f"registry {REGISTRY}: POST /oauth2/token answered 403 DENIED"),
        ("manifest", f"registry {REGISTRY}: HEAD /v2/{REPOSITORY}/manifests/v41 answered 403"),
        (
            "unknown-tag",
            f"registry {REGISTRY}: HEAD /v2/{REPOSITORY}/manifests/v41 answered 404 (no such tag)",
        ),
    ],
)
def test_a_registry_that_will_not_resolve_the_tag_fails_in_one_line_without_a_swap(
    world: Any, registry: FakeRegistry, capsys: Any, tmp_path: Path, fault: str, why: str
) -> None:
    fake, _, _ = world
    staged = f"DOCKER|{REGISTRY}/{REPOSITORY}@{DIGEST_42}"
    fake.app.staging_image = staged
    if fault == "unknown-tag":
        del registry.tags[REPOSITORY, "v41"]
    else:
        registry.forbidden = {fault}
    code, out, err, document = _drill(capsys, tmp_path)
    reason = (
        f"cannot tell whether production ({BEFORE}) and the staging slot ({staged}) run different images: "
        f"{why}"
    )
    assert code == 1
    [line] = err.splitlines()
    assert line.startswith(f"backstop: drill rollback FAILED on {APP}: {reason}")
    assert line.endswith(
        "; the drill swaps only slots known to differ (grant the drill's identity AcrPull on the registry, "
        "or deploy both by digest)"
    )
    assert fake.app.swap_requests == [] and fake.app.health_probes == []
    assert document["imagesNotCompared"] == document["errors"][0] and len(document["errors"]) == 1
    assert document["nothingToRollBack"] is None and document["passed"] is False
    assert document["swapped"] is False and document["swappedBack"] is True
    assert (
        out.rstrip()
        .splitlines()[-1]
        .startswith(f"FAILED: application rollback (slot swap) not run: {reason}")
    )


def test_an_unreachable_registry_fails_in_one_line_without_a_swap(
    world: Any, credential: _Credential, capsys: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    fake, _, _ = world
    monkeypatch.setattr(
        rollback.RUNTIME,
        "registry",
        lambda: AcrDigests(lambda: "drill-token", endpoint=lambda host: f"https://127.0.0.1:{port}"),
    )
    code, _, err, document = _drill(capsys, tmp_path)
    assert code == 1 and fake.app.swap_requests == []
    assert f"registry {REGISTRY}: POST /oauth2/exchange: cannot connect (ConnectionError)" in err
    assert len(err.splitlines()) == 1 and document["imagesNotCompared"] is not None


def test_a_tag_on_a_registry_that_is_not_acr_fails_in_one_line_without_a_call(
    world: Any, registry: FakeRegistry, capsys: Any, tmp_path: Path
) -> None:
    fake, _, _ = world
    fake.app.production_image = "DOCKER|ghcr.io/wiserreview/app:v41"
    code, _, err, document = _drill(capsys, tmp_path)
    assert code == 1 and fake.app.swap_requests == [] and registry.requests == []
    assert err == (
        f"backstop: drill rollback FAILED on {APP}: cannot tell whether production "
        f"(DOCKER|ghcr.io/wiserreview/app:v41) and the staging slot ({STAGED}) run different images: "
        "registry ghcr.io is not an Azure Container Registry (*.azurecr.io): tag v41 cannot be resolved to a "
        "digest; the drill swaps only slots known to differ (grant the drill's identity AcrPull on the "
        "registry, or deploy both by digest)\n"
    )
    assert (
        document["imagesNotCompared"]
        == err.removeprefix(f"backstop: drill rollback FAILED on {APP}: ").rstrip()
    )


@pytest.mark.parametrize(
    ("staged", "swapped"),
    [(f"ghcr.io/wiserreview/app@{DIGEST_42}", True), (f"ghcr.io/wiserreview/other@{DIGEST_41}", False)],
    ids=["other-digest", "same-digest"],
)
def test_two_digests_are_compared_without_a_registry_call(
    world: Any, registry: FakeRegistry, capsys: Any, tmp_path: Path, staged: str, swapped: bool
) -> None:
    """A digest is its own answer, on any registry: nothing to resolve, nothing to sign in to."""
    fake, _, _ = world
    fake.app.production_image = f"DOCKER|{REGISTRY}/{REPOSITORY}@{DIGEST_41}"
    fake.app.staging_image = f"DOCKER|{staged}"
    code, _, err, document = _drill(capsys, tmp_path)
    assert registry.requests == []
    assert (code, len(fake.app.swap_requests)) == ((0, 2) if swapped else (1, 0)), err
    assert document["imageDigests"] == {
        "productionBefore": DIGEST_41,
        "staged": DIGEST_42 if swapped else DIGEST_41,
    }
    assert (document["nothingToRollBack"] is None) is swapped


# What the fake registry's tags name: `stable` and `v1` one build; `V1` (tags are case-sensitive) and `v2`
# another.
_TAGS = {
    ("acr.azurecr.io", "app", "stable"): "sha256:aa",
    ("acr.azurecr.io", "app", "latest"): "sha256:aa",
    ("acr.azurecr.io", "app", "v1"): "sha256:aa",
    ("acr.azurecr.io", "app", "V1"): "sha256:bb",
    ("acr.azurecr.io", "app", "v2"): "sha256:bb",
}


@pytest.mark.parametrize(
    ("production", "staged", "verdict", "resolved"),
    [
        ("DOCKER|acr.azurecr.io/app:stable", "DOCKER|acr.azurecr.io/app:stable", "same", []),
        ("DOCKER|ACR.azurecr.io/app:stable", "docker|acr.azurecr.io/app:stable", "same", []),
        ("DOCKER|acr.azurecr.io/app", "DOCKER|acr.azurecr.io/app:latest", "same", []),
        ("DOCKER|acr.azurecr.io/app@sha256:aa", "DOCKER|acr.azurecr.io/app@sha256:aa", "same", []),
        ("DOCKER|acr.azurecr.io/app@sha256:aa", "DOCKER|acr.azurecr.io/app@sha256:bb", "differ", []),
        ("DOCKER|acr.azurecr.io/app:v1@sha256:aa", "DOCKER|acr.azurecr.io/app@sha256:aa", "same", []),
        ("DOCKER|acr.azurecr.io/app:v1", "DOCKER|acr.azurecr.io/app@sha256:aa", "same", ["v1"]),
        ("DOCKER|acr.azurecr.io/app:v1", "DOCKER|acr.azurecr.io/app:stable", "same", ["v1", "stable"]),
        ("DOCKER|ACR.azurecr.io/app:stable", "DOCKER|acr.azurecr.io/app", "same", ["stable", "latest"]),
        ("DOCKER|acr.azurecr.io/app:v1", "DOCKER|acr.azurecr.io/app:V1", "differ", ["v1", "V1"]),
        ("DOCKER|acr.azurecr.io/app:v1", "DOCKER|acr.azurecr.io/app:v2", "differ", ["v1", "v2"]),
        ("DOCKER|acr.azurecr.io/app:v1", "DOCKER|acr.azurecr.io/app:v9", "unknown", ["v1", "v9"]),
        ("DOCKER|acr.azurecr.io/app:v9", "DOCKER|acr.azurecr.io/app@sha256:aa", "unknown", ["v9"]),
        ("PYTHON|3.11", "DOCKER|acr.azurecr.io/app@sha256:aa", "unknown", []),
        (None, "", "same", []),
    ],
)
def test_which_image_references_are_the_same(
    production: str | None, staged: str, verdict: str, resolved: list[str]
) -> None:
    """By digest: a tag counts as the digest the registry resolves it to now, a digest as itself; the same
    reference twice needs no registry; a tag that cannot be resolved leaves the question open."""
    asked: list[str] = []

    def digest_of(registry: str, repository: str, tag: str) -> str:
        asked.append(tag)
        try:
            return _TAGS[registry, repository, tag]
        except KeyError:
            raise RegistryError(
                f"registry {registry}: HEAD /v2/{repository}/manifests/{tag} answered 404"
            ) from None

    comparison = images.compare_images(production, staged, digest_of)
    found = (
        "same"
        if comparison.nothing_to_roll_back is not None
        else "unknown"
        if comparison.not_compared is not None
        else "differ"
    )
    assert (found, asked) == (verdict, resolved)


def test_an_interrupt_while_waiting_for_health_still_swaps_back(world: Any) -> None:
    fake, _, clock = world
    cfg = read_stack_file(ROOT, "staging").stack_config()
    plan = rollback.plan_rollback(cfg, stack="staging", env=rollback.RUNTIME.env)

    def interrupted(url: str) -> int:
        raise KeyboardInterrupt

    io = rollback.RollbackIO(
        client=rollback.RUNTIME.client(SUBSCRIPTION),
        probe=interrupted,
        clock=clock,
        sleep=clock.sleep,
        digest_of=rollback.RUNTIME.registry().manifest_digest,
    )
    with pytest.raises(KeyboardInterrupt):
        rollback.execute_rollback(plan, io)
    assert fake.app.production_image == BEFORE
    assert len(fake.app.swap_requests) == 2


def test_prod_is_refused_before_any_request(world: Any, capsys: Any, tmp_path: Path) -> None:
    fake, evidence, _ = world
    code = main(["drill", "rollback", "--stack", "prod", "--project-dir", str(ROOT)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == (
        "backstop: refusing to drill stack prod: the rollback drill swaps slots of a staging app only "
        "(backstop:environment must be staging)"
    )
    assert fake.app.swap_requests == [] and evidence.list_database_names() == []


def test_a_missing_subscription_is_one_line_before_any_request(
    world: Any, capsys: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, _, _ = world
    monkeypatch.setattr(rollback.RUNTIME, "env", {"BACKSTOP_EVIDENCE_MONGODB_URI": "mongodb://evidence"})
    code = main(["drill", "rollback", "--stack", "staging", "--project-dir", str(ROOT)])
    _, err = capsys.readouterr()
    assert code == 2
    assert (
        err.strip() == "backstop: AZURE_SUBSCRIPTION_ID is not set: the Azure subscription of the staging app"
    )
    assert fake.app.swap_requests == []


def test_the_result_names_the_mechanism_the_report_reads(world: Any) -> None:
    assert rollback.MECHANISM == "slot_swap"


@pytest.mark.parametrize("asked", [None, APP, f"{APP}-acme"])
def test_with_a_name_suffix_the_drill_swaps_the_app_as_created(asked: str | None) -> None:
    """`nameSuffix` renames the app in Azure (`<app>-<suffix>`); `--app` takes either spelling."""
    from backstop.config import load_stack_config

    sections = {**read_stack_file(ROOT, "staging").backstop_sections(), "nameSuffix": "acme"}
    cfg = load_stack_config(sections, "Pulumi.staging.yaml")
    plan = rollback.plan_rollback(
        cfg, stack="staging", env={"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, app=asked
    )
    assert (plan.app, plan.resource_group) == (f"{APP}-acme", GROUP)


def test_an_app_the_stack_does_not_declare_is_refused_by_name() -> None:
    cfg = read_stack_file(ROOT, "staging").stack_config()
    with pytest.raises(rollback.RollbackRefused, match=r"backstop:app\.apps: no app named wiser-other$"):
        rollback.plan_rollback(
            cfg, stack="staging", env={"AZURE_SUBSCRIPTION_ID": SUBSCRIPTION}, app="wiser-other"
        )


def _renamed_project(tmp_path: Path) -> Path:
    """The repository's project with its stacks renamed: prod as `production-eu`, staging as `qa`."""
    project = tmp_path / "renamed"
    project.mkdir()
    for source, target in (("Pulumi.yaml", "Pulumi.yaml"), ("Pulumi.prod.yaml", "Pulumi.production-eu.yaml")):
        (project / target).write_text((ROOT / source).read_text())
    (project / "Pulumi.qa.yaml").write_text((ROOT / "Pulumi.staging.yaml").read_text())
    return project


def test_a_prod_environment_under_any_stack_name_is_refused(world: Any, capsys: Any, tmp_path: Path) -> None:
    fake, evidence, _ = world
    project = _renamed_project(tmp_path)
    code = main(["drill", "rollback", "--stack", "production-eu", "--project-dir", str(project)])
    _, err = capsys.readouterr()
    assert code == 2
    assert err.strip() == (
        "backstop: refusing to drill stack production-eu: the rollback drill swaps slots of a staging app "
        "only (backstop:environment must be staging)"
    )
    assert fake.app.swap_requests == [] and evidence.list_database_names() == []


def test_a_staging_environment_under_any_stack_name_is_drilled(
    world: Any, capsys: Any, tmp_path: Path
) -> None:
    fake, _, _ = world
    project = _renamed_project(tmp_path)
    code = main(["drill", "rollback", "--stack", "qa", "--project-dir", str(project), "--quiet"])
    out, err = capsys.readouterr()
    assert code == 0, err
    assert fake.app.swap_requests == [{"targetSlot": "staging", "preserveVnet": True}] * 2
    assert out.rstrip().splitlines()[-1].startswith("PASSED: application rollback (slot swap)")
