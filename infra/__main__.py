"""The backstop Pulumi program: validate the stack's config, then declare the backup posture."""

import pulumi

from backstop.config import ConfigError
from backstop.program.stack import main

try:
    main()
except ConfigError as error:
    raise pulumi.RunError(str(error)) from None
