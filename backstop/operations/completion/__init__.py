"""`backstop completion bash|zsh|fish`: shell completion through argcomplete, stack names included.

Completion runs the real parser (argcomplete's protocol: the shell sets `_ARGCOMPLETE`, `COMP_LINE` and
`COMP_POINT` and reads the candidates back), so every command and option completes as it parses; `--stack`
offers the stacks of the project's `Pulumi.<stack>.yaml` files.
"""
