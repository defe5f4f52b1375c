"""The MQTT wire for JSON topics: the shared persistent, manually acknowledged session."""

from __future__ import annotations

from plantwire.adapters._mqtt import BrokerSettings, MqttSession, Received, consume, publish_once

__all__ = ["BrokerSettings", "MqttSession", "Received", "consume", "publish_once"]
