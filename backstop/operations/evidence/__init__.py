"""`backstop evidence bundle` and `backstop evidence verify`: one period's auditor evidence, and its check."""
