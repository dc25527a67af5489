"""The command line, at the roof of the layers: it may use every package below it."""
