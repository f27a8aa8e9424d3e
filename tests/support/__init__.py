"""Real servers for tests: an SMTP sink and a webhook receiver on 127.0.0.1."""
