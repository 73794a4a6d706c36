from seva_crm.cli import main

main()
