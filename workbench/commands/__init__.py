"""Headless command modules of `clawft-workbench`, one per area; see `workbench.cli`."""
