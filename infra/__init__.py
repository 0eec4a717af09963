"""CDK infrastructure for Tailor: one stack built from one construct per concern."""
