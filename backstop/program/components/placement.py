"""What every Azure component is given: its config section, and where and how its resources are placed.

One generic argument type instead of a copy per component: the registry, the cache, Blob storage and Service
Bus take exactly these, and a component that needs more adds its own fields to a subclass.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Generic, TypeVar

import pulumi

ConfigT = TypeVar("ConfigT")


@dataclass(frozen=True)
class AzureComponentArgs(Generic[ConfigT]):
    config: ConfigT
    resource_group_name: pulumi.Input[str]
    location: str
    tags: dict[str, str]
