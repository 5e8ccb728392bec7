"""What a record means: one module per artifact under ios/ and android/."""
