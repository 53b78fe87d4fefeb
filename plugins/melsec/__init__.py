"""Mitsubishi MELSEC driver: MC protocol 3E binary frames (Q, L and iQ-R series)."""
