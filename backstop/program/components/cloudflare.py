"""Cloudflare in front of the widget: assets served from the edge through origin outages, and a DNS
record that reaches the origin directly when Cloudflare itself is the problem.

Seed basis (WiserReview): "Widget delivery RTO: Near-zero — Cloudflare CDN continues serving cached widget
assets from 300+ edge locations even during origin outages" and "Cloudflare outage: ... review data and
dashboard remain accessible through direct DNS fallback".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pulumi

from backstop.config.app import CloudflareConfig
from backstop.ground import tokens
from backstop.program.providers import provider

if TYPE_CHECKING:
    import pulumi_cloudflare as cloudflare
else:  # only the modules of the classes used, not the provider's root
    cloudflare = provider("pulumi_cloudflare")


def widget_expression(cfg: CloudflareConfig, shared: Sequence[tuple[str, str]] = ()) -> str:
    """The Rules language expression that matches widget asset requests: this stack's widget host and
    those of the stacks (`shared`: host, path prefix) that leave the zone's rulesets to this one."""
    hosts = [(cfg.widget_host, cfg.widget_path_prefix), *shared]
    return " or ".join(
        f'(http.host eq "{host}" and starts_with(http.request.uri.path, "{prefix}"))'
        for host, prefix in hosts
    )


@dataclass(frozen=True)
class WidgetEdgeArgs:
    config: CloudflareConfig
    origin_host: pulumi.Input[str]
    # The subscription's `customDomainVerificationId` (the app's): App Service binds a custom host only
    # when `asuid.<host>` holds it, and with it binds the host to the standby too before any failover.
    domain_verification_id: pulumi.Input[str] | None = None
    # Widget hosts (and path prefixes) of other stacks in this zone whose Cache Rules this stack declares.
    shared_widget_hosts: Sequence[tuple[str, str]] = ()


class WidgetEdge(pulumi.ComponentResource):
    """Cache Rule (long edge TTL, stale while revalidating), Cache Response Rule (stale-if-error), the
    proxied widget record and the DNS-only direct-origin fallback record."""

    cache_rules: cloudflare.Ruleset | None
    response_rules: cloudflare.Ruleset | None
    widget_record: cloudflare.DnsRecord
    fallback_record: cloudflare.DnsRecord
    verification_records: list[cloudflare.DnsRecord]

    def __init__(self, name: str, args: WidgetEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_WIDGET_EDGE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        self.cache_rules = self.response_rules = None
        if cfg.owns_entry_point_rulesets:
            self._entry_point_rulesets(name, cfg, widget_expression(cfg, args.shared_widget_hosts), child)
        self.widget_record = cloudflare.DnsRecord(
            f"{name}-widget",
            zone_id=cfg.zone_id,
            name=cfg.widget_host,
            type="CNAME",
            content=args.origin_host,
            proxied=True,
            ttl=1,  # automatic, as Cloudflare requires for a proxied record
            comment="widget assets, served and cached by Cloudflare",
            opts=child,
        )
        self.fallback_record = cloudflare.DnsRecord(
            f"{name}-origin-fallback",
            zone_id=cfg.zone_id,
            name=cfg.origin_fallback_host,
            type="CNAME",
            content=args.origin_host,
            proxied=False,  # DNS only: reaches the origin when the Cloudflare edge is down
            ttl=300,
            comment="direct DNS fallback to the origin (seed: Cloudflare outage)",
            opts=child,
        )
        self.verification_records = []
        if args.domain_verification_id is not None:
            for key, host in (("widget", cfg.widget_host), ("origin-fallback", cfg.origin_fallback_host)):
                self.verification_records.append(
                    cloudflare.DnsRecord(
                        f"{name}-{key}-asuid",
                        zone_id=cfg.zone_id,
                        name=f"asuid.{host}",
                        type="TXT",
                        content=args.domain_verification_id,
                        proxied=False,
                        ttl=300,
                        comment=f"App Service domain verification of {host}",
                        opts=child,
                    )
                )
        self.register_outputs(
            {
                "accountId": cfg.account_id,
                "zoneId": cfg.zone_id,
                "widgetHost": cfg.widget_host,
                "fallbackHost": cfg.origin_fallback_host,
            }
        )

    def _entry_point_rulesets(
        self, name: str, cfg: CloudflareConfig, expression: str, child: pulumi.ResourceOptions
    ) -> None:
        """The zone's entry-point rulesets of the two cache phases (only in the stack that owns them)."""
        self.cache_rules = cloudflare.Ruleset(
            f"{name}-cache-rules",
            zone_id=cfg.zone_id,
            kind="zone",
            phase=tokens.CF_CACHE_PHASE,
            name="widget assets from the edge",
            description="Cache widget assets at the edge for a long TTL and serve stale while revalidating",
            rules=[
                cloudflare.RulesetRuleArgs(
                    action=tokens.CF_CACHE_ACTION,
                    expression=expression,
                    description="widget assets: edge TTL, serve stale",
                    enabled=True,
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        cache=True,
                        edge_ttl=cloudflare.RulesetRuleActionParametersEdgeTtlArgs(
                            mode="override_origin", default=cfg.edge_ttl_seconds
                        ),
                        serve_stale=cloudflare.RulesetRuleActionParametersServeStaleArgs(
                            disable_stale_while_updating=False
                        ),
                    ),
                )
            ],
            opts=child,
        )
        self.response_rules = cloudflare.Ruleset(
            f"{name}-stale-if-error",
            zone_id=cfg.zone_id,
            kind="zone",
            phase=tokens.CF_CACHE_RESPONSE_PHASE,
            name="widget assets through origin errors",
            description="Serve cached widget assets when the origin fails (stale-if-error)",
            rules=[
                cloudflare.RulesetRuleArgs(
                    action=tokens.CF_CACHE_CONTROL_ACTION,
                    expression=expression,
                    description="widget assets: stale-if-error at the edge",
                    enabled=True,
                    action_parameters=cloudflare.RulesetRuleActionParametersArgs(
                        stale_if_error=cloudflare.RulesetRuleActionParametersStaleIfErrorArgs(
                            operation="set", value=cfg.stale_if_error_seconds, cloudflare_only=True
                        ),
                    ),
                )
            ],
            opts=child,
        )
