"""The local web page: People album, person, photo, search and Memories, served on 127.0.0.1.

`memories.web.app.serve` is what `memories serve` calls; `create_app` returns the WSGI app that tests
run in a background thread. Every action writes through `memories.people`, exactly as the CLI does.
"""
