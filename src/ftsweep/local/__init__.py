"""Training trials on this machine with Hugging Face TRL."""
