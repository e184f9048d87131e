from mreg.cli import main

main()
