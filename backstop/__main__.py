"""`python -m backstop` is the `backstop` command."""

import sys

from backstop.cli import main

sys.exit(main())
