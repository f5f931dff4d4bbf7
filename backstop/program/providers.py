"""Provider SDKs without their eager root modules, so a command imports only what it uses.

pulumi_cloudflare's and pulumi_mongodbatlas's root `__init__` imports every resource module of the
provider (781 modules for Cloudflare, about 2 s of `backstop plan`), although the program declares a few
resource types. `provider("pulumi_cloudflare")` returns the package with its root not yet run:
`cloudflare.Ruleset` imports `pulumi_cloudflare.ruleset` alone, `cloudflare.RulesetRuleArgs` the
package's `_inputs`. The classes are the SDK's own, so what the engine (or the mocks) receives is the
same. A name that cannot be placed that way runs the real root `__init__` first, so no name is ever
missing, only loaded later; a package already imported is returned as it is.
"""

from __future__ import annotations

import importlib
import importlib.util
import re
import sys
import threading
from types import ModuleType
from typing import Any

# Where a provider keeps the names that are not in a module of their own.
_SHARED_MODULES = ("_inputs", "outputs", "_enums")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")
_lock = threading.RLock()


def provider(root: str) -> ModuleType:
    """The provider package `root` (a top-level package), importing its modules on first use."""
    with _lock:
        module = sys.modules.get(root)
        if module is not None:
            return module
        spec = importlib.util.find_spec(root)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return importlib.import_module(root)
        module = importlib.util.module_from_spec(spec)
        module.__dict__["__getattr__"] = _Resolver(module, spec)  # PEP 562: the module's own __getattr__
        sys.modules[root] = module
        return module


class _Resolver:
    """The package's module-level `__getattr__` (PEP 562) until its root runs."""

    def __init__(self, module: ModuleType, spec: Any) -> None:
        self.module = module
        self.spec = spec

    def __call__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        with _lock:
            root = self.module.__name__
            for candidate in (name, _CAMEL.sub("_", name).lower()):
                if self._has_submodule(candidate):
                    found = importlib.import_module(f"{root}.{candidate}")
                    value = found if candidate == name else getattr(found, name, None)
                    if value is not None:
                        setattr(self.module, name, value)
                        return value
            for shared in _SHARED_MODULES:
                if self._has_submodule(shared):
                    value = getattr(importlib.import_module(f"{root}.{shared}"), name, None)
                    if value is not None:
                        setattr(self.module, name, value)
                        return value
            return self._complete(name)

    def _has_submodule(self, name: str) -> bool:
        if not name.isidentifier():
            return False
        if f"{self.module.__name__}.{name}" in sys.modules:
            return True
        return importlib.util.find_spec(f"{self.module.__name__}.{name}") is not None

    def _complete(self, name: str) -> Any:
        """Run the package's real root `__init__` (once), then answer from it."""
        if self.module.__dict__.get("__getattr__") is self:
            del self.module.__dict__["__getattr__"]
            self.spec.loader.exec_module(self.module)
        try:
            return self.module.__dict__[name]
        except KeyError:
            raise AttributeError(f"module {self.module.__name__!r} has no attribute {name!r}") from None
