"""Notifications service: run reports out to people (log line, webhook)."""
