"""The restore layer: what the drill and the recovery runbook share, so neither reaches into the other.

Restore modes and the production guard (`common`), the ephemeral stacks a restore lands in (`stacks`,
`recovery_stacks`) and the swappable edges every restore command reaches (`runtime`).
"""
