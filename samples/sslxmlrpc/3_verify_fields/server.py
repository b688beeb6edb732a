# -*- coding: utf-8 -*-

# stdlib
import logging
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
verify_fields = {"commonName": "My Client", "organizationName":"My Company",
                 "stateOrProvinceName":"My State"}

logging.basicConfig(level=logging.WARNING)

server = MySSLServer(host, port, keyfile, certfile, ca_certs, cert_reqs=ssl.CERT_REQUIRED,
                     verify_fields=verify_fields)
server.serve_forever()
