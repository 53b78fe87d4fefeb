"""What every layer shares: the error tree, messages, clock, backoff, latest values, limits."""
