"""One module per system customers leave: each reads its source into `records.ListSource`, and writes nothing."""

SYSTEMS = ("mailman2", "mailman3", "sympa", "listmonk", "mailchimp", "google-groups")
