"""The backstop CrossGuard policy pack: every backstop rule as a policy (backstop/policy/crossguard.py),
served by backstop/policy/fastpack.py."""

import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parent.parent

try:
    import backstop  # noqa: F401  (installed in ../.venv with `pip install -e .`)
except ImportError:  # a virtualenv with backstop's dependencies but not backstop itself
    sys.path.insert(0, str(PROJECT_DIR))

from backstop.policy.fastpack import serve  # noqa: E402

serve(PROJECT_DIR)
