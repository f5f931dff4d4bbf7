"""The program layer: the Pulumi program and what it is built from.

`stack` declares one stack's posture from its `StackConfig`; `components/` holds the component resources
(Atlas, AWS, Azure, Slack routing and the application layer's), `app_layer` composes the application layer,
`ephemeral` is the program of a drill's or recovery's throwaway cluster, `providers` loads the SDK's
classes, and `mocks` runs the program engine-free under the Pulumi SDK's own mocks.
"""
