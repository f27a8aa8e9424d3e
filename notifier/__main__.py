from notifier.cli import console

console()
