from docvlm.cli.app import main

main()
