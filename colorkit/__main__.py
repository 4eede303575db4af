from colorkit.cli import main

main()
