"""SB3 integration: the reward wrapper, the callback, the training orchestrator."""
