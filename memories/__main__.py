from memories.cli import app

app()
