"""Local storage: app folders, connection profiles, the secret store and logging (no Qt).

Modules:
    paths: where every file lives (platformdirs, or `HALO_PAYLINK_HOME` for tests and portable use).
    atomic: crash-safe, owner-only file writes.
    profiles: named connection profiles as JSON (never the client secret).
    secrets: the client secret in the OS keyring, or in memory for "ask each time" sessions.
    logs: the rotating, redacting log file.

Importing this package does no I/O and creates nothing.
"""
