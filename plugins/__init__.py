"""Built-in southbound drivers, installed as ``gateway_plugins``."""
