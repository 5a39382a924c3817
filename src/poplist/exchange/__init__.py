"""No hostage: the open export format, its import, and the live standby."""
