"""The assistant window (PySide6). The only package that imports Qt.

Entry point: `halo_paylink.ui.app.run_app`. Importing this package does nothing.
"""
