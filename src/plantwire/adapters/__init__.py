"""Adapters to outside systems, one package each, all the same shape: client, translate, source, sink.

Adapter packages never import each other. Modules here whose names start with an underscore are
shared helpers, not adapters: the plant-floor sources (``mqtt``, ``sparkplug``, ``opcua``) share
``_rules`` (declared counter and flag rules, pure), ``_common`` (CloudEvent shape, ids, backoff,
quarantine, handing events to the intake) and ``_mqtt`` (the manually acknowledged MQTT session).
"""
