"""SQLite stores: the outbox (store-and-forward queue)."""

from .outbox import Outbox, StoredMessage

__all__ = ["Outbox", "StoredMessage"]
