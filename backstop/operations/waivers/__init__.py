"""`backstop waivers list`: the reviewed exceptions of `backstop-waivers.yaml`, and which lapse soon.

An exception is only as good as its review: each waiver has an owner, a ticket and an end date, and this
command is what a weekly job or an auditor runs to see them, expired ones first.
"""
