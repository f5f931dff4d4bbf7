"""The clients layer: the only code that speaks HTTP (and the Service Bus wire protocol).

The Atlas Administration API (`atlas`), MongoDB manifests of a tenant database (`mongo_manifest`), Azure
App Service over ARM (`azure_web`), Slack and Azure Monitor's test notifications (`alert_channels`) and
Service Bus (`servicebus`). A new cloud client goes here; what to do with its answers goes above.
"""
