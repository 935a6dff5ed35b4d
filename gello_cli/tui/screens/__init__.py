"""The dashboard's screens: one per mode (number keys), plus pushed detail and dialogs."""
