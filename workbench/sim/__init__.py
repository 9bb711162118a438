"""Simulated sample traffic: seeded prompts through the real session loop on the simulated fleet."""
