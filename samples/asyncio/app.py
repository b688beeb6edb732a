"""The sample under an ASGI server: ``uvicorn app:app``."""

from springpython.hosting import asgi_app

app = asgi_app("server.xml")
