"""Halo PayLink Assistant: connect HaloPSA to Benji Pays and add payment links to open invoices."""

__version__ = "0.1.0"
APP_NAME = "Halo PayLink Assistant"
APP_ID = "com.benjipays.HaloPayLinkAssistant"
