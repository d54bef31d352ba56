"""Delivery channels: what a channel is (base.py), the built-in ones (email, webhook), and the registry.

A new channel is its own module here implementing `base.Channel`, one entry in registry.py, and, when
its subscribers configure something, a field in config.models.SubscriberConfig (docs/architecture.md).
"""
