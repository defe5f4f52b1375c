"""Durable flows (sagas): the authoring API, the runtime, and the business flows under catalog/."""
