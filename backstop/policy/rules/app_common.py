"""Readings shared by the application-layer rules: an alert's metrics, whether an action group reaches
Slack, and whether an alert or action group is enabled, for azure-native and classic pulumi-azure alike."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from backstop.ground import tokens
from backstop.ground.resources import UNKNOWN, Resource, is_unknown
from backstop.policy.rules.servicebus_dead_letter_alert import _criteria
from backstop.policy.values import MISSING, get, is_true, items

if TYPE_CHECKING:
    from backstop.policy.stackview import StackView

# Receivers that could post into Slack. Only one kind of receiver delivers a message Slack shows: a webhook
# or Logic App receiver that reaches the stack's own declared Slack relay (`slack_relay`: a Logic App that
# turns Azure's alert schema into `{"text": ...}` and posts it to a Slack incoming webhook). A webhook
# straight to Slack's incoming webhook host gets Azure's alert schema, which Slack rejects (it wants `text`
# or `blocks`); a webhook anywhere else, a Logic App that is not that relay, or an Azure Function (backstop
# cannot read what one posts) delivers nothing Slack shows.
SLACK_RECEIVERS = ("webhookReceivers", "logicAppReceivers", "azureFunctionReceivers")
SLACK_WEBHOOK_HOSTS = ("hooks.slack.com", "hooks.slack-gov.com")
# A workflow definition's reference to one of its parameters, as the URI an HTTP action posts to.
_PARAMETER_URI = re.compile(r"^@\{?parameters\('([^']+)'\)\}?$")
# Logic App workflow states that run a trigger (Azure's default when none is set is Enabled).
_RUNNING_STATES = frozenset({"enabled"})


def enabled(resource: Resource, classic_types: frozenset[str]) -> bool | Any:
    """`enabled` strictly true; classic pulumi-azure defaults it to true when unset. `UNKNOWN` if unknown."""
    value = get(resource.props, "enabled")
    if is_unknown(value):
        return UNKNOWN
    return is_true(value) or (resource.type in classic_types and value is MISSING)


def alert_metrics(alert: Resource) -> set[str] | Any:
    """The metric names an alert's criteria watch (native `criteria.allOf`, classic `criterias` and
    `dynamicCriteria`); `UNKNOWN` while any of them is unknown."""
    criteria = _criteria(alert)
    if is_unknown(criteria):
        return UNKNOWN
    names = [get(criterion, "metricName") for criterion in criteria]
    if any(is_unknown(n) for n in names):
        return UNKNOWN
    return {n for n in names if isinstance(n, str)}


def _slack_host(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return any(host == h or host.endswith("." + h) for h in SLACK_WEBHOOK_HOSTS)


def _all(verdicts: Iterable[bool | Any]) -> bool | Any:
    """True when every verdict is; False as soon as one is; else `UNKNOWN`."""
    found: bool | Any = True
    for verdict in verdicts:
        if verdict is False:
            return False
        if is_unknown(verdict):
            found = UNKNOWN
    return found


def _any(verdicts: Iterable[bool | Any]) -> bool | Any:
    """True as soon as one verdict is; `UNKNOWN` when none is but one is unknown; else False."""
    found: bool | Any = False
    for verdict in verdicts:
        if verdict is True:
            return True
        if is_unknown(verdict):
            found = UNKNOWN
    return found


def _http_actions(actions: Any) -> Iterable[Any]:
    """The actions of a workflow definition, nested ones (scopes, conditions, loops, switches) included;
    `UNKNOWN` among them where a block is unknown."""
    if is_unknown(actions):
        yield UNKNOWN
        return
    if not isinstance(actions, dict):
        return
    for action in actions.values():
        if is_unknown(action):
            yield UNKNOWN
            continue
        yield action
        for nested in (get(action, "actions"), get(action, "else.actions"), get(action, "default.actions")):
            if nested is not MISSING:
                yield from _http_actions(nested)
        cases = get(action, "cases")
        if isinstance(cases, dict):
            for case in cases.values():
                yield from _http_actions(get(case, "actions"))


def _posts_slack_message(workflow: Resource, action: Any) -> bool | Any:
    """Is this workflow action an HTTP POST of Slack's message format (`text` or `blocks`) to a Slack
    incoming webhook: a literal hooks.slack.com URL, or a workflow parameter whose value is a secret (the
    program holds the webhook as a `SecureString`) or a Slack URL? An azure-native definition's action, or
    the inputs of a classic `ActionHttp` resource (its `body` a JSON string)."""
    if is_unknown(action):
        return UNKNOWN
    if workflow.type == tokens.AZ_LOGIC_WORKFLOW:
        kind, method = get(action, "type"), get(action, "inputs.method")
        body, uri = get(action, "inputs.body"), get(action, "inputs.uri")
    else:
        kind, method, body, uri = "Http", get(action, "method"), get(action, "body"), get(action, "uri")
        if isinstance(body, str):
            try:
                body = json.loads(body)
            except ValueError:
                return False
    if any(is_unknown(v) for v in (kind, method, body, uri)):
        return UNKNOWN
    if not (isinstance(kind, str) and kind.lower() == "http"):
        return False
    if not (isinstance(method, str) and method.upper() == "POST"):
        return False
    if not (isinstance(body, dict) and ("text" in body or "blocks" in body)):
        return False
    if not isinstance(uri, str):
        return False
    parameter = _PARAMETER_URI.match(uri.strip())
    if parameter is None:
        return _slack_host(uri)
    value = _parameter_value(workflow, parameter.group(1))
    if is_unknown(value):
        return True  # a secret: the program's relay holds the Slack webhook as a SecureString parameter
    return isinstance(value, str) and _slack_host(value)


def _parameter_value(workflow: Resource, name: str) -> Any:
    """A workflow parameter's value: azure-native `parameters.<name>.value` (else the definition's
    `defaultValue`), classic `parameters.<name>` (a string); `UNKNOWN` while unknown (a secret)."""
    parameters = get(workflow.props, "parameters")
    if is_unknown(parameters):
        return UNKNOWN
    declared = parameters.get(name, MISSING) if isinstance(parameters, dict) else MISSING
    if workflow.type != tokens.AZ_LOGIC_WORKFLOW:
        return declared
    value = MISSING if declared is MISSING else get(declared, "value")
    if value is MISSING:
        value = get(workflow.props, "definition.parameters")
        value = get(value[name], "defaultValue") if isinstance(value, dict) and name in value else MISSING
    return value


def slack_relay(workflow: Resource, stack: StackView | None = None) -> bool | Any:
    """Is this declared Logic App workflow a Slack relay: not disabled, and an HTTP action of it posts
    Slack's message format to a Slack incoming webhook (see `_posts_slack_message`)? azure-native holds
    the actions in its `definition`; classic pulumi-azure declares each as an `ActionHttp` resource whose
    `logicAppId` names the workflow (joined through `stack`). `UNKNOWN` while that cannot be read."""
    if workflow.type == tokens.AZ_LOGIC_WORKFLOW:
        state = get(workflow.props, "state")
        if is_unknown(state):
            return UNKNOWN
        if isinstance(state, str) and state.lower() not in _RUNNING_STATES:
            return False
        definition = get(workflow.props, "definition")
        if is_unknown(definition):
            return UNKNOWN
        return _any(_posts_slack_message(workflow, a) for a in _http_actions(get(definition, "actions")))
    if workflow.type != tokens.AZC_LOGIC_WORKFLOW:
        return False
    on = get(workflow.props, "enabled")  # classic: "Defaults to `true`"
    if is_unknown(on):
        return UNKNOWN
    if on is not MISSING and not is_true(on):
        return False
    if stack is None:
        return UNKNOWN
    actions, undecided = stack.attached({tokens.AZC_LOGIC_ACTION_HTTP}, workflow, "logicAppId")
    verdict = _any(_posts_slack_message(workflow, action.props) for action in actions)
    return UNKNOWN if verdict is False and undecided else verdict


def _from_dependencies(group: Resource, key: str, stack: StackView | None) -> bool | Any:
    """A receiver value that cannot be read (a secret, or computed): does the engine say it was computed
    from a declared Slack relay? True if so; False when every resource it was computed from is declared
    here and none is a relay; `UNKNOWN` when nothing says (no dependencies, or one outside this stack)."""
    urns = group.property_dependencies.get(key, ())
    if not urns or stack is None:
        return UNKNOWN
    resolved = [stack.by_urn(urn) for urn in urns]
    workflows = [r for r in resolved if r is not None and r.type in tokens.AZ_LOGIC_WORKFLOWS]
    verdict = _any(slack_relay(r, stack) for r in workflows)
    if verdict is False and any(r is None for r in resolved):
        return UNKNOWN
    return verdict


def _names_a_relay(value: str, stack: StackView | None) -> bool | Any:
    """Does a known receiver URL or resource id name a declared Slack relay? `UNKNOWN` when it may name a
    declared relay whose own id or endpoint is not known yet."""
    if stack is None:
        return False
    named, maybe = stack.logic_workflows_named(value)
    verdict = _any(slack_relay(w, stack) for w in named)
    if verdict is False and _any(slack_relay(w, stack) for w in maybe) is not False:
        return UNKNOWN
    return verdict


def _readable(receiver: Any, key: str, group: Resource, stack: StackView | None) -> bool | Any:
    """Does this receiver deliver a message Slack can show, that is reach the stack's declared Slack relay?
    `UNKNOWN` while its URL or resource cannot be resolved."""
    if key == "azureFunctionReceivers":
        return False  # what a function posts cannot be read from the program; backstop's relay is a Logic App
    if key == "webhookReceivers":
        uri = get(receiver, "serviceUri")
        if is_unknown(uri):
            return _from_dependencies(group, key, stack)
        if not isinstance(uri, str) or not uri or _slack_host(uri):
            return False  # a webhook straight to Slack posts Azure's alert schema, which Slack rejects
        return _names_a_relay(uri, stack)
    verdicts = []
    for prop in ("resourceId", "callbackUrl"):
        value = get(receiver, prop)
        if is_unknown(value):
            verdicts.append(_from_dependencies(group, key, stack))
        elif isinstance(value, str) and value:
            verdicts.append(_names_a_relay(value, stack))
        elif prop == "resourceId":
            verdicts.append(False)
    return _all(verdicts)


def reaches_slack(group: Resource, stack: StackView | None = None) -> bool | Any:
    """An enabled action group with a receiver that delivers a Slack-readable message, that is reaches
    the stack's declared Slack relay (`slack_relay`); `UNKNOWN` if undecidable.

    A webhook to `hooks.slack.com` does not count: Azure posts its alert schema, which Slack rejects; nor
    does a webhook anywhere else, a Logic App that is not a Slack relay, or a Function. A receiver list
    that cannot be read (a secret: a Logic App callback URL carries a signature, so the SDK sends the whole
    list as one) counts only when the engine says it was computed from a declared Slack relay; computed
    only from other declared resources it does not; with nothing to say either, it is unknown, never a
    pass.
    """
    on = enabled(group, frozenset({tokens.AZC_ACTION_GROUP}))
    if is_unknown(on):
        return UNKNOWN
    if on is not True:
        return False
    if stack is not None:
        stack.of(tokens.AZ_LOGIC_WORKFLOWS)  # the relays are read: counted among the checked types
    undecided = False
    for key in SLACK_RECEIVERS:
        receivers = get(group.props, key)
        if is_unknown(receivers):
            verdict = False if key == "azureFunctionReceivers" else _from_dependencies(group, key, stack)
            if verdict is True:
                return True
            undecided = undecided or is_unknown(verdict)
            continue
        for receiver in items(receivers):
            verdict = UNKNOWN if is_unknown(receiver) else _readable(receiver, key, group, stack)
            if verdict is True:
                return True
            undecided = undecided or is_unknown(verdict)
    return UNKNOWN if undecided else False


def severity(alert: Resource) -> float | Any | None:
    """The alert's Azure Monitor severity (0 critical … 4 verbose); classic defaults to 3."""
    value = get(alert.props, "severity")
    if is_unknown(value):
        return UNKNOWN
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return 3.0 if alert.type == tokens.AZC_METRIC_ALERT and value is MISSING else None
