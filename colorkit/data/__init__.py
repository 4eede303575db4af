"""Image folders, split lists, the embedded sample, and LAB conversion."""
