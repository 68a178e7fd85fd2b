"""`python -m lifetwin` runs the command line."""

from lifetwin.cli.main import main

main()
