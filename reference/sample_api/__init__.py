"""A sample protected API, written the way a customer would protect theirs (spec chapter 9)."""
