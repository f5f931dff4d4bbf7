"""servicebus-auto-delete-on-idle, servicebus-delivery-window, servicebus-forwarding: entities that delete
themselves, dead-letter on the first slow consumer, or forward what they should keep."""

from __future__ import annotations

from typing import Any

import pytest

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN
from backstop.policy.rules.servicebus_common import duration_seconds
from backstop.policy.targets import PolicyTargets
from backstop.policy.values import MISSING
from backstop.program.mocks import ProgramRun
from tests.policy_support import SHAPES, failing, findings, levels, mutate, res, shape_of, undecided

PROD = PolicyTargets.for_environment("prod")
STAGING = PolicyTargets.for_environment("staging")
QUEUE = "messaging-email-campaigns"
OTHER_QUEUE = "messaging-review-events"
RULES = ("servicebus-auto-delete-on-idle", "servicebus-delivery-window", "servicebus-forwarding")


def _entity(prod_run: ProgramRun, kind: str) -> str:
    return next(r.name for r in prod_run.resources if r.type == kind)


@pytest.mark.parametrize("rule", RULES)
def test_shipped_stacks_pass(
    rule: str, prod_run: ProgramRun, staging_run: ProgramRun, prod_preview_run: ProgramRun
) -> None:
    assert findings(rule, prod_run.resources) == []
    assert findings(rule, staging_run.resources, STAGING) == []
    assert findings(rule, prod_preview_run.resources) == []


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("PT5M", 300.0),
        ("P14D", 14 * 86400.0),
        ("PT1H30M", 5400.0),
        ("P10675199DT2H48M5.4775807S", None),
        ("x", None),
    ],
)
def test_iso_durations(text: str, seconds: float | None) -> None:
    parsed = duration_seconds(text)
    if seconds is None and text != "x":
        assert parsed is not None and parsed >= 10675199 * 86400
    else:
        assert parsed == seconds


# --- autoDeleteOnIdle ---------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize("kind", [tokens.AZ_SB_QUEUE, tokens.AZ_SB_TOPIC, tokens.AZ_SB_SUBSCRIPTION])
def test_auto_delete_on_idle(prod_run: ProgramRun, shape: str, kind: str) -> None:
    rule = "servicebus-auto-delete-on-idle"
    name = _entity(prod_run, kind)
    loaded = shape_of(mutate(prod_run.resources, name, {"autoDeleteOnIdle": "PT1H"}), shape)
    assert failing(rule, loaded) == {name}
    (finding,) = findings(rule, loaded)
    noun = kind.rsplit(":", 1)[-1].lower()
    assert finding.message == (
        f"autoDeleteOnIdle PT1H deletes the {noun} after 1 h without activity, and its messages and "
        "dead-letter "
        "queue with it"
    )
    never = shape_of(
        mutate(prod_run.resources, name, {"autoDeleteOnIdle": "P10675199DT2H48M5.4775807S"}), shape
    )
    assert findings(rule, never) == []


def test_auto_delete_classic_and_unknown() -> None:
    rule = "servicebus-auto-delete-on-idle"
    classic = res(tokens.AZC_SB_QUEUE, "q", {"name": "q", "autoDeleteOnIdle": "P7D"})
    assert failing(rule, [classic]) == {"q"}
    assert undecided(rule, [res(tokens.AZC_SB_QUEUE, "q", {"autoDeleteOnIdle": UNKNOWN})]) == {"q"}
    assert failing(rule, [res(tokens.AZC_SB_QUEUE, "q", {"autoDeleteOnIdle": "soon"})]) == {"q"}


# --- delivery window ------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        pytest.param(
            {"lockDuration": "PT10S", "maxDeliveryCount": 3},
            {QUEUE},
            "maxDeliveryCount 3 x lockDuration PT10S: a consumer slower than 10 s dead-letters a message "
            "after "
            "30 s, under the 3-minute retry window",
            id="short-lock-few-deliveries",
        ),
        pytest.param({"lockDuration": "PT5M", "maxDeliveryCount": 3}, set(), "", id="long-lock"),
        pytest.param(
            {"lockDuration": MISSING, "maxDeliveryCount": MISSING}, set(), "", id="service-defaults"
        ),
        pytest.param(
            {"lockDuration": MISSING, "maxDeliveryCount": 2},
            {QUEUE},
            "maxDeliveryCount 2 x lockDuration PT1M (default)",
            id="default-lock-5-deliveries",
        ),
    ],
)
def test_delivery_window(
    prod_run: ProgramRun, shape: str, changes: dict[str, Any], expected: set[str], words: str
) -> None:
    rule = "servicebus-delivery-window"
    loaded = shape_of(mutate(prod_run.resources, QUEUE, changes), shape)
    assert failing(rule, loaded) == expected
    for finding in findings(rule, loaded):
        assert words in finding.message


def test_delivery_window_is_a_tunable_and_reads_classic(prod_run: ProgramRun) -> None:
    rule = "servicebus-delivery-window"
    short = mutate(prod_run.resources, QUEUE, {"lockDuration": "PT10S", "maxDeliveryCount": 10})
    assert failing(rule, short) == {QUEUE}
    assert failing(rule, short, PolicyTargets.for_environment("prod", min_delivery_window_minutes=1)) == set()
    classic = res(
        tokens.AZC_SB_SUBSCRIPTION, "s", {"name": "s", "lockDuration": "PT5S", "maxDeliveryCount": 1}
    )
    assert failing(rule, [classic]) == {"s"}
    assert levels(rule, [classic], STAGING) == {("s", "advisory")}


# --- forwarding -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        pytest.param(
            {QUEUE: {"forwardTo": "archive"}},
            {QUEUE},
            "forwardTo 'archive' names no queue or topic declared in namespace wiser-prod-messaging",
            id="undeclared-target",
        ),
        pytest.param({QUEUE: {"forwardTo": "review-events"}}, set(), "", id="dead-lettering-queue"),
        pytest.param(
            {
                QUEUE: {"forwardDeadLetteredMessagesTo": "review-events"},
                OTHER_QUEUE: {"deadLetteringOnMessageExpiration": False},
            },
            {QUEUE},
            "forwardDeadLetteredMessagesTo 'review-events' forwards the dead letters to a queue whose "
            "deadLetteringOnMessageExpiration is off",
            id="target-queue-drops-expired",
        ),
        pytest.param(
            {QUEUE: {"forwardTo": "merchant-events"}}, set(), "", id="topic-whose-subscriptions-dead-letter"
        ),
        pytest.param(
            {
                QUEUE: {"forwardTo": "merchant-events"},
                "messaging-merchant-events-analytics": {"deadLetteringOnMessageExpiration": False},
            },
            {QUEUE},
            "forwards the messages to topic subscriptions that drop expired messages "
            "(messaging-merchant-events-analytics",
            id="topic-subscription-drops-expired",
        ),
        pytest.param({QUEUE: {"forwardTo": ""}}, set(), "", id="empty-is-off"),
    ],
)
def test_forwarding(
    prod_run: ProgramRun, shape: str, changes: dict[str, dict[str, Any]], expected: set[str], words: str
) -> None:
    rule = "servicebus-forwarding"
    resources = list(prod_run.resources)
    for name, change in changes.items():
        resources = mutate(resources, name, change)
    loaded = shape_of(resources, shape)
    assert failing(rule, loaded) == expected
    assert undecided(rule, loaded) == set()
    for finding in findings(rule, loaded):
        assert words in finding.message


def test_forwarding_unknown_target_is_undecided(prod_run: ProgramRun) -> None:
    resources = mutate(prod_run.resources, QUEUE, {"forwardTo": UNKNOWN})
    assert undecided("servicebus-forwarding", resources) == {QUEUE}


def test_forwarding_classic_spelling_by_namespace_id() -> None:
    ns = "/subscriptions/0/resourceGroups/rg/providers/Microsoft.ServiceBus/namespaces/bus"
    source = res(tokens.AZC_SB_QUEUE, "in", {"name": "in", "namespaceId": ns, "forwardTo": "out"})
    target = res(
        tokens.AZC_SB_QUEUE,
        "out",
        {"name": "out", "namespaceId": ns, "deadLetteringOnMessageExpiration": True},
    )
    elsewhere = res(
        tokens.AZC_SB_QUEUE,
        "out2",
        {
            "name": "out",
            "namespaceId": ns.replace("/bus", "/other"),
            "deadLetteringOnMessageExpiration": True,
        },
    )
    assert findings("servicebus-forwarding", [source, target]) == []
    assert failing("servicebus-forwarding", [source, elsewhere]) == {"in"}


def test_the_read_settings_are_sdk_wire_names() -> None:
    import pulumi._types as pulumi_types
    import pulumi_azure
    from pulumi_azure_native import servicebus

    def wire(cls: type) -> set[str]:
        return set(pulumi_types.input_type_py_to_pulumi_names(cls).values())

    read = {
        "autoDeleteOnIdle",
        "forwardTo",
        "forwardDeadLetteredMessagesTo",
        "lockDuration",
        "maxDeliveryCount",
    }
    for cls in (
        servicebus.QueueArgs,
        servicebus.SubscriptionArgs,
        pulumi_azure.servicebus.QueueArgs,
        pulumi_azure.servicebus.SubscriptionArgs,
    ):
        assert read <= wire(cls)
    assert "autoDeleteOnIdle" in wire(servicebus.TopicArgs) and "autoDeleteOnIdle" in wire(
        pulumi_azure.servicebus.TopicArgs
    )
    assert "namespaceId" in wire(pulumi_azure.servicebus.QueueArgs)


# --- messages expiring with dead-lettering off ------------------------------------------------------------


def test_expiry_without_dead_lettering_names_the_time_to_live(prod_run: ProgramRun) -> None:
    resources = mutate(
        prod_run.resources,
        QUEUE,
        {"deadLetteringOnMessageExpiration": False, "defaultMessageTimeToLive": "PT1H"},
    )
    (finding,) = findings("servicebus-queue-dead-lettering", resources)
    assert finding.message == (
        "deadLetteringOnMessageExpiration is False: expired messages are dropped instead of dead-lettered "
        "(time-to-live PT1H: every message not consumed within 1 h is lost)"
    )
    classic = res(
        tokens.AZC_SB_SUBSCRIPTION, "s", {"name": "s", "defaultMessageTtl": "P1D", "maxDeliveryCount": 10}
    )
    (finding,) = [
        f
        for f in findings("servicebus-subscription-dead-lettering", [classic])
        if "time-to-live" in f.message
    ]
    assert "time-to-live P1D: every message not consumed within 1 d is lost" in finding.message


def test_a_published_classic_export_with_provider_defaults() -> None:
    """A real `pulumi stack export` of classic pulumi-azure Service Bus entities (tests/data/published):
    the provider writes `autoDeleteOnIdle` and `defaultMessageTtl` as TimeSpan.MaxValue and `forwardTo`
    as "" when unset; none of that is a self-deleting entity, an expiry or a forward."""
    import json
    from pathlib import Path

    from backstop.policy.sources import resources_from_export

    path = Path(__file__).resolve().parents[1] / "data" / "published" / "pulumi-azure-servicebus-stack.json"
    resources = resources_from_export(json.loads(path.read_text(encoding="utf-8")), str(path))
    assert {r.type for r in resources} >= {
        tokens.AZC_SB_QUEUE,
        tokens.AZC_SB_TOPIC,
        tokens.AZC_SB_SUBSCRIPTION,
    }
    for rule in ("servicebus-auto-delete-on-idle", "servicebus-forwarding"):
        assert findings(rule, resources) == [], rule
    # Its subscription delivers once with the default 1-minute lock.
    (finding,) = findings("servicebus-delivery-window", resources)
    assert finding.urn.endswith("::exampleSubsn")
    idle = {r.name: r.props.get("autoDeleteOnIdle") for r in resources if r.type in tokens.AZ_SB_QUEUES}
    assert set(idle.values()) == {"P10675199DT2H48M5.4775807S"}
