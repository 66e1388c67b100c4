from ceremony.cli import main

main()
