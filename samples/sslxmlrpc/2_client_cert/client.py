# -*- coding: utf-8 -*-

# Spring Python
from springpython.remoting.xmlrpc import SSLClient

server_location = "https://localhost:8000/RPC2"
keyfile = "./client-key.pem"
certfile = "./client-cert.pem"
ca_certs = "./ca-chain.pem"

client = SSLClient(server_location, ca_certs, keyfile, certfile)

print(client.pow(41, 3))
