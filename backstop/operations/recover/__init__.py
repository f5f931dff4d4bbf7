"""`backstop recover`: the CARTIE operator emergency runbook as a guided, guarded command."""
