"""One module per wizard page; each page renders a `core.wizard` state and writes input back."""
