"""Benji Pays' merchant API: the settings and the invoice look-up (no Qt, no files).

Optional: the checks of Benji's side run only when the admin gives a Benji API key. The field names
of Benji's answers are unverified and live in `benji.facts`.
"""
