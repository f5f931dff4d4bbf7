"""The application layer of the seed: App Service, Container Registry, Redis, Cloudflare and alert routing.

`config` holds its typed `StackConfig` sections; the rollback drill (`backstop drill rollback`) lives here
beside `backstop.drill`, the database drill.
"""
