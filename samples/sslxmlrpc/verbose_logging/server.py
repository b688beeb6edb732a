# -*- coding: utf-8 -*-

# stdlib
import logging
import os
import ssl

# Spring Python
from springpython.remoting.xmlrpc import SSLServer

class MySSLServer(SSLServer):
    def __init__(self, *args, **kwargs):
        super(MySSLServer, self).__init__(*args, **kwargs)

    def _listdir(self, path):
        return os.listdir(path)

    def register_functions(self):
        self.register_function(self._listdir, "listdir")

host = "localhost"
port = 8000
keyfile = "./server-key.pem"
certfile = "./server-cert.pem"
ca_certs = "./ca-chain.pem"
verify_fields = {"commonName": "My Client", "organizationName":"My Company",
                 "stateOrProvinceName":"My State"}

log_format = "%(asctime)s - %(levelname)s - %(process)d - %(threadName)s - %(name)s - %(message)s"
formatter = logging.Formatter(log_format)

handler = logging.StreamHandler()
handler.setFormatter(formatter)

logger = logging.getLogger("MySSLServer")

logger.setLevel(level=logging.DEBUG)
logger.addHandler(handler)


server = MySSLServer(host, port, keyfile, certfile, ca_certs, cert_reqs=ssl.CERT_REQUIRED,
                     verify_fields=verify_fields)
server.serve_forever()
