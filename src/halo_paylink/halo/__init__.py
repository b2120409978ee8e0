"""The Halo API: discovery, authentication, the invoice client, typed errors (no Qt)."""
