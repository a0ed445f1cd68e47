from memories.cli import main

main()
