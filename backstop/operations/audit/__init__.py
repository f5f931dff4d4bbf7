"""`backstop audit`: the weekly Tier-2 "tenant X exists in snapshot Y" attestation."""
