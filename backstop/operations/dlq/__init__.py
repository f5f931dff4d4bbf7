"""Dead-letter operations on Azure Service Bus: list what was dead-lettered, then replay it after a fix.

The seed promises that "dead-letter messages can be inspected and reprocessed after underlying issues are
resolved" and that "no messages are silently dropped". `service` holds the logic over a small protocol the
azure-servicebus client satisfies; `commands` wires it into `backstop dlq inspect|replay`.
"""
