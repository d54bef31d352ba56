"""Use cases shared by the command line and the web: check the configuration, backtest, match documents."""
