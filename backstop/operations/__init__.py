"""The operations layer: one package per command family, each standing only on the layers below.

`audit` (the weekly attestation), `drill` (the quarterly restore drill), `rollback` (the application's
slot-swap drill), `recover` (the operator emergency runbook), `alerts` (alert delivery tests) and `dlq`
(dead-letter inspection and replay). A new command family gets its own package here.
"""
