"""Transports: the simulated fleet (offline default); real HTTP providers and the mock server come next."""
