"""The fine-tuning API's request objects as frozen pydantic models (no client, no network).

Only pydantic-based modules are used here; the `openai` SDK is used by the tests alone. Names load
lazily, on first use, so that reading a sweep without a grader never builds the grader models.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ftsweep.api.common import (
        MAX_METADATA_KEY_LENGTH,
        MAX_METADATA_PAIRS,
        MAX_METADATA_VALUE_LENGTH,
        MAX_SEED,
        MAX_SUFFIX_LENGTH,
        Integration,
        WandbSettings,
    )
    from ftsweep.api.graders import (
        EVALUATION_METRICS,
        FORMULA_FUNCTIONS,
        MAX_PYTHON_SOURCE_BYTES,
        SAMPLE_FIELDS,
        AnyGrader,
        AudioData,
        ContentPart,
        EvaluationMetric,
        Grader,
        GraderMessage,
        InputAudio,
        InputImage,
        InputText,
        LabelModelGrader,
        MultiGrader,
        OutputText,
        PythonGrader,
        SamplingParams,
        ScoreModelGrader,
        StringCheckGrader,
        SubGrader,
        TextSimilarityGrader,
        check_calculate_output,
        grader_adapter,
        parse_grader,
        template_references,
    )
    from ftsweep.api.hyperparameters import (
        AUTO,
        METHODS,
        RULES,
        DpoHyperparameters,
        HyperparameterRule,
        MethodName,
        ReasoningEffort,
        ReinforcementHyperparameters,
        SupervisedHyperparameters,
        hyperparameters_for,
    )
    from ftsweep.api.job import (
        JobRequest,
    )
    from ftsweep.api.methods import (
        DpoMethod,
        JsonSchemaFormat,
        Method,
        MethodConfig,
        ReinforcementMethod,
        ResponseFormat,
        SupervisedMethod,
    )

_MODULES = {
    "EVALUATION_METRICS": "ftsweep.api.graders",
    "FORMULA_FUNCTIONS": "ftsweep.api.graders",
    "MAX_PYTHON_SOURCE_BYTES": "ftsweep.api.graders",
    "SAMPLE_FIELDS": "ftsweep.api.graders",
    "AnyGrader": "ftsweep.api.graders",
    "AudioData": "ftsweep.api.graders",
    "ContentPart": "ftsweep.api.graders",
    "EvaluationMetric": "ftsweep.api.graders",
    "Grader": "ftsweep.api.graders",
    "GraderMessage": "ftsweep.api.graders",
    "InputAudio": "ftsweep.api.graders",
    "InputImage": "ftsweep.api.graders",
    "InputText": "ftsweep.api.graders",
    "LabelModelGrader": "ftsweep.api.graders",
    "MultiGrader": "ftsweep.api.graders",
    "OutputText": "ftsweep.api.graders",
    "PythonGrader": "ftsweep.api.graders",
    "SamplingParams": "ftsweep.api.graders",
    "ScoreModelGrader": "ftsweep.api.graders",
    "StringCheckGrader": "ftsweep.api.graders",
    "SubGrader": "ftsweep.api.graders",
    "TextSimilarityGrader": "ftsweep.api.graders",
    "check_calculate_output": "ftsweep.api.graders",
    "grader_adapter": "ftsweep.api.graders",
    "parse_grader": "ftsweep.api.graders",
    "template_references": "ftsweep.api.graders",
    "AUTO": "ftsweep.api.hyperparameters",
    "METHODS": "ftsweep.api.hyperparameters",
    "RULES": "ftsweep.api.hyperparameters",
    "DpoHyperparameters": "ftsweep.api.hyperparameters",
    "HyperparameterRule": "ftsweep.api.hyperparameters",
    "MethodName": "ftsweep.api.hyperparameters",
    "ReasoningEffort": "ftsweep.api.hyperparameters",
    "ReinforcementHyperparameters": "ftsweep.api.hyperparameters",
    "SupervisedHyperparameters": "ftsweep.api.hyperparameters",
    "hyperparameters_for": "ftsweep.api.hyperparameters",
    "MAX_METADATA_KEY_LENGTH": "ftsweep.api.common",
    "MAX_METADATA_PAIRS": "ftsweep.api.common",
    "MAX_METADATA_VALUE_LENGTH": "ftsweep.api.common",
    "MAX_SEED": "ftsweep.api.common",
    "MAX_SUFFIX_LENGTH": "ftsweep.api.common",
    "Integration": "ftsweep.api.common",
    "JobRequest": "ftsweep.api.job",
    "WandbSettings": "ftsweep.api.common",
    "DpoMethod": "ftsweep.api.methods",
    "JsonSchemaFormat": "ftsweep.api.methods",
    "Method": "ftsweep.api.methods",
    "MethodConfig": "ftsweep.api.methods",
    "ReinforcementMethod": "ftsweep.api.methods",
    "ResponseFormat": "ftsweep.api.methods",
    "SupervisedMethod": "ftsweep.api.methods",
}

__all__ = [
    "AUTO",
    "EVALUATION_METRICS",
    "FORMULA_FUNCTIONS",
    "MAX_METADATA_KEY_LENGTH",
    "MAX_METADATA_PAIRS",
    "MAX_METADATA_VALUE_LENGTH",
    "MAX_PYTHON_SOURCE_BYTES",
    "MAX_SEED",
    "MAX_SUFFIX_LENGTH",
    "METHODS",
    "RULES",
    "SAMPLE_FIELDS",
    "AnyGrader",
    "AudioData",
    "ContentPart",
    "DpoHyperparameters",
    "DpoMethod",
    "EvaluationMetric",
    "Grader",
    "GraderMessage",
    "HyperparameterRule",
    "InputAudio",
    "InputImage",
    "InputText",
    "Integration",
    "JobRequest",
    "JsonSchemaFormat",
    "LabelModelGrader",
    "Method",
    "MethodConfig",
    "MethodName",
    "MultiGrader",
    "OutputText",
    "PythonGrader",
    "ReasoningEffort",
    "ReinforcementHyperparameters",
    "ReinforcementMethod",
    "ResponseFormat",
    "SamplingParams",
    "ScoreModelGrader",
    "StringCheckGrader",
    "SubGrader",
    "SupervisedHyperparameters",
    "SupervisedMethod",
    "TextSimilarityGrader",
    "WandbSettings",
    "check_calculate_output",
    "grader_adapter",
    "hyperparameters_for",
    "parse_grader",
    "template_references",
]


def __getattr__(name: str) -> Any:
    module = _MODULES.get(name)
    if module is None:
        raise AttributeError(f"module 'ftsweep.api' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_MODULES])
