# -*- coding: utf-8 -*-

# Spring Python
from springpython.remoting.xmlrpc import SSLServer

class MySSLServer(SSLServer):
    def __init__(self, *args, **kwargs):
        super(MySSLServer, self).__init__(*args, **kwargs)

    def register_functions(self):
        self.register_function(pow)

host = "localhost"
port = 8000
keyfile = "./server-key.pem"
certfile = "./server-cert.pem"

server = MySSLServer(host, port, keyfile, certfile)
server.serve_forever()
