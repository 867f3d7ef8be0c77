"""The audience: subscribers and their consent."""
