"""Writing files safely (docs/safety.md): atomic writes, the temp files they use, one writer
per run folder (locks), Ctrl-C and SIGTERM, and the one rule for files that are not regular
files. Nothing here knows about networks or configs."""
