"""harness: datasets, evaluation protocols, statistics, submissions, leaderboard and the CLI."""
