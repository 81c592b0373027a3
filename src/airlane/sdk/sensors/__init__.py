"""Sensors: tasks that wait for a condition."""

from airlane.sdk.sensors.base import BaseSensorOperator, PokeReturnValue

__all__ = ["BaseSensorOperator", "PokeReturnValue"]
