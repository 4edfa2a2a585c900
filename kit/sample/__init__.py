"""A synthetic sample with planted, known effects (the ground truth is written beside the tables)."""
from .generator import Sample, generate

__all__ = ["Sample", "generate"]
