r"""Inbound mail: the LMTP\/SMTP server, email commands and the moderation pipeline."""
