"""Replay of logged traffic through alternative pipelines: estimators, metrics, the engine and the tuner."""
