"""The quarterly restore drill: ephemeral cluster, restore, verify, measure the RTO, always tear down."""
