"""Loading and validating the YAML knowledge base."""
