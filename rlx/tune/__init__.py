"""Hyperparameter tuning: vmapped sweeps in one program (``sweep``) and Ray Tune searches (``search``)."""
