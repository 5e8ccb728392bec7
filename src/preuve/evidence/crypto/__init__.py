"""Decryption of protected acquisitions (iOS backup keybags, Android backup keys)."""
