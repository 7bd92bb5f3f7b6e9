"""A minimal demo bank web site: sign in, add your phone by QR code, see it finish (spec §4.6)."""
