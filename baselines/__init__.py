"""baselines: policy networks and PPO reproductions."""
