"""Cloudflare in front of the widget: assets served from the edge through origin outages, and a DNS
record that reaches the origin directly when Cloudflare itself is the problem.

Seed basis (WiserReview): "Widget delivery RTO: Near-zero — Cloudflare CDN continues serving cached widget
assets from 300+ edge locations even during origin outages" and "Cloudflare outage: ... review data and
dashboard remain accessible through direct DNS fallback".
"""

from __future__ import annotations

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


def widget_expression(cfg: CloudflareConfig) -> str:
    """The Rules language expression that matches widget asset requests."""
    return (
        f'(http.host eq "{cfg.widget_host}" and '
        f'starts_with(http.request.uri.path, "{cfg.widget_path_prefix}"))'
    )


@dataclass(frozen=True)
class WidgetEdgeArgs:
    config: CloudflareConfig
    origin_host: pulumi.Input[str]


class WidgetEdge(pulumi.ComponentResource):
    """Cache Rule (long edge TTL, stale while revalidating), Cache Response Rule (stale-if-error), the
    proxied widget record and the DNS-only direct-origin fallback record."""

    cache_rules: cloudflare.Ruleset
    response_rules: cloudflare.Ruleset
    widget_record: cloudflare.DnsRecord
    fallback_record: cloudflare.DnsRecord

    def __init__(self, name: str, args: WidgetEdgeArgs, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(tokens.COMPONENT_WIDGET_EDGE, name, None, opts)
        cfg = args.config
        child = pulumi.ResourceOptions(parent=self)
        expression = widget_expression(cfg)
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
        self.register_outputs(
            {
                "accountId": cfg.account_id,
                "zoneId": cfg.zone_id,
                "widgetHost": cfg.widget_host,
                "fallbackHost": cfg.origin_fallback_host,
            }
        )
