"""Dynamics 365 Finance & Operations OData mapping pack: production orders, purchase orders, journals."""
