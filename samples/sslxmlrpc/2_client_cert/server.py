# -*- coding: utf-8 -*-

# stdlib
import ssl

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
ca_certs = "./ca-chain.pem"

server = MySSLServer(host, port, keyfile, certfile, ca_certs, cert_reqs=ssl.CERT_REQUIRED)
server.serve_forever()
