"""Image grids, tables and plots for runs and comparisons."""
