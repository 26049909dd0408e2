"""Conversation context: what earlier turns (or earlier parts of one question) established."""
