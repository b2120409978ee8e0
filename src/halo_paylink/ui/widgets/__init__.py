"""Small reusable widgets: copyable values, the error banner, the busy indicator, status rows."""
