"""Domain logic without Qt: connection checks, link snippets, the backfill, the wizard's flow."""
