"""Human-model comparison metrics; every function takes and returns a tidy DataFrame."""

from psychoalign.metrics.accuracy import accuracy
from psychoalign.metrics.benchmark import MODEL_VS_HUMAN_EXCLUDED_CONDITIONS, benchmark
from psychoalign.metrics.error_consistency import error_consistency

__all__ = ["MODEL_VS_HUMAN_EXCLUDED_CONDITIONS", "accuracy", "benchmark", "error_consistency"]
