"""Command-line entry points, each installed as an ``rlx-*`` console command."""
