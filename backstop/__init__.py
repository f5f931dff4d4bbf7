"""backstop: backup and DR posture as code."""
