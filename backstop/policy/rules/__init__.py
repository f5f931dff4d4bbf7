"""One backup/DR rule per module; `backstop.policy.core.load_rules` imports them all."""
