"""The core operators."""
