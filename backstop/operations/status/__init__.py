"""`backstop status`: is the estate protected right now? The live estate measured against every objective.

`rows` is the row model and its renderings; `probe` runs the questions concurrently with a bound; `atlas`,
`aws`, `azure` and `evidence` ask one cloud each; `commands` wires them into the command line.
"""
