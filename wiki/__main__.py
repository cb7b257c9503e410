from wiki.cli import main

main()
