"""kinetix: the Kinetix RL environment family on the jax2d engine."""
