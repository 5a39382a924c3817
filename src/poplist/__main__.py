from poplist.cli import main

main()
