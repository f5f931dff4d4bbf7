"""Backup/DR rules: pure functions of resources, shared by CrossGuard, the offline checker and the tests."""
