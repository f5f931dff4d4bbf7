"""`backstop alerts test`: prove that alerts reach people, channel by channel.

Seed basis (WiserReview, Monitoring and Alerting): "All critical infrastructure alerts flow to the
engineering team's Slack #alerts channel." A declared alert nobody receives is the failure this catches.
"""
