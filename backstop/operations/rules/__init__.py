"""`backstop rules list`: the rule registry as a user reads it before tuning or waiving a rule."""
