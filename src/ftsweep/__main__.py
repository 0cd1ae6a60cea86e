from ftsweep.cli import main

main()
