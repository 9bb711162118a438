"""The six-stage routing pipeline: stage protocols, level-0 implementations and `build_pipeline`."""

from workbench.pipeline.build import Pipeline, PipelineRegistry, build_pipeline
from workbench.pipeline.stages import (
    ContextAssembler,
    LearningBackend,
    LlmTransport,
    ModelRouter,
    QualityScorer,
    TaskClassifier,
)

__all__ = [
    "ContextAssembler",
    "LearningBackend",
    "LlmTransport",
    "ModelRouter",
    "Pipeline",
    "PipelineRegistry",
    "QualityScorer",
    "TaskClassifier",
    "build_pipeline",
]
