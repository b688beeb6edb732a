from springpython.hosting import asgi_app
app = asgi_app("server.xml")
