"""Framework-free protocol core: plain functions and dataclasses, no web framework imports."""
