"""One module per CLI command: ``add(subparsers)`` declares it and sets ``run``."""
