"""Pulumi component resources that declare backstop's backup posture, one per concern."""
