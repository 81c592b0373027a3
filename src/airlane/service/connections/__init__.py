"""Connections stored in Redis: their record format, Fernet encryption, and the stores."""
