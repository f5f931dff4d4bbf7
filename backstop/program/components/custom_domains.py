"""The widget and direct hosts bound to the apps that serve them, with a certificate for the direct host.

Seed basis (WiserReview): "Widget delivery RTO: Near-zero" (the proxied `widget.*` host) and "Cloudflare
outage: ... review data and dashboard remain accessible through direct DNS fallback" (the DNS-only
`direct.*` host). A CNAME alone reaches no app: App Service answers 404 for a host it has not bound, and a
DNS-only client sees only the `*.azurewebsites.net` certificate. So every app that may serve the hosts (the
primary and the warm standby) binds both, verified by the `asuid.<host>` TXT records of `WidgetEdge`, and
the direct host gets a certificate bound with SNI.

A managed certificate needs its host bound first, and Azure issues it only while the host's CNAME points
at that app: the binding is declared without TLS, the certificate after it, and a second declaration of
the same binding (`<site>-direct-sni`) switches it to SNI with the certificate's thumbprint. A certificate
from Key Vault (`cloudflare.directCertificate`) has no such order: it is imported in each region and bound
with SNI at once, the standby's too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import web

from backstop.config.app import CloudflareConfig
from backstop.ground import tokens


@dataclass(frozen=True)
class HostedSite:
    """An app that may serve the custom hosts: `takes_traffic` when the CNAMEs point at it."""

    name: str
    site: web.WebApp
    plan: web.AppServicePlan
    location: str
    takes_traffic: bool


@dataclass(frozen=True)
class CustomDomainsArgs:
    config: CloudflareConfig
    resource_group_name: pulumi.Input[str]
    sites: Sequence[HostedSite]
    # The CNAME and `asuid` TXT records: Azure verifies them when the binding is created.
    dns_records: Sequence[pulumi.Resource]
    tags: dict[str, str]


class CustomDomains(pulumi.ComponentResource):
    """Host name bindings of the widget and direct hosts, and the direct host's certificate, per app."""

    bindings: dict[str, web.WebAppHostNameBinding]
    certificates: dict[str, web.Certificate]

    def __init__(
        self, name: str, args: CustomDomainsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(tokens.COMPONENT_CUSTOM_DOMAINS, name, None, opts)
        self._args = args
        self.bindings = {}
        self.certificates = {}
        for hosted in args.sites:
            self._bind(hosted)
        self.register_outputs({"hosts": [args.config.widget_host, args.config.origin_fallback_host]})

    def _binding(
        self,
        resource_name: str,
        hosted: HostedSite,
        host: str,
        depends_on: Sequence[pulumi.Resource],
        certificate: web.Certificate | None = None,
    ) -> web.WebAppHostNameBinding:
        binding = web.WebAppHostNameBinding(
            resource_name,
            resource_group_name=self._args.resource_group_name,
            name=hosted.site.name,
            host_name=host,
            host_name_type=web.HostNameType.VERIFIED,
            custom_host_name_dns_record_type=web.CustomHostNameDnsRecordType.C_NAME,
            ssl_state=web.SslState.SNI_ENABLED if certificate is not None else web.SslState.DISABLED,
            thumbprint=certificate.thumbprint if certificate is not None else None,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
        self.bindings[resource_name] = binding
        return binding

    def _certificate(self, hosted: HostedSite, depends_on: Sequence[pulumi.Resource] = ()) -> web.Certificate:
        cfg = self._args.config
        imported = cfg.direct_certificate
        resource_name = f"{hosted.name}-direct-cert"
        certificate = web.Certificate(
            resource_name,
            resource_group_name=self._args.resource_group_name,
            name=f"{hosted.name}-direct",
            location=hosted.location,
            server_farm_id=hosted.plan.id,
            canonical_name=cfg.origin_fallback_host if imported is None else None,
            key_vault_id=imported.key_vault_id if imported is not None else None,
            key_vault_secret_name=imported.secret_name if imported is not None else None,
            tags=self._args.tags,
            opts=pulumi.ResourceOptions(parent=self, depends_on=list(depends_on)),
        )
        self.certificates[resource_name] = certificate
        return certificate

    def _bind(self, hosted: HostedSite) -> None:
        cfg = self._args.config
        dns = self._args.dns_records
        # Cloudflare terminates the client's TLS for the proxied widget host; the binding routes it.
        self._binding(f"{hosted.name}-widget-host", hosted, cfg.widget_host, dns)
        direct = cfg.origin_fallback_host
        if cfg.direct_certificate is not None:
            certificate = self._certificate(hosted)
            self._binding(f"{hosted.name}-direct-host", hosted, direct, dns, certificate)
            return
        bound = self._binding(f"{hosted.name}-direct-host", hosted, direct, dns)
        if hosted.takes_traffic:
            certificate = self._certificate(hosted, [bound])
            self._binding(f"{hosted.name}-direct-sni", hosted, direct, [certificate], certificate)
