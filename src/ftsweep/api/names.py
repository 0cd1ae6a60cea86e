"""The fine-tuning methods by name, in a module that imports nothing, for the CLI to offer them."""

from __future__ import annotations

from typing import Literal, get_args

__all__ = ["METHODS", "MethodName"]

MethodName = Literal["supervised", "dpo", "reinforcement"]
METHODS: tuple[MethodName, ...] = get_args(MethodName)
