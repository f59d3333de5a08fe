from plugai.cli import main

main()
