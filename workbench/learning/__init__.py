"""Online learning for routers: SONA (MicroLoRA, BaseLoRA, EWC++, ReasoningBank), bandit baselines, persistence.

Kept import-light: `workbench.config` reads the settings module, so nothing here imports the pipeline eagerly.
"""
