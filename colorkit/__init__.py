"""colorkit: grayscale photographs of people into realistic colour."""

__version__ = "0.1.0"
