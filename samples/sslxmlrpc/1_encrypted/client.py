# -*- coding: utf-8 -*-

# stdlib
import ssl

# Spring Python
from springpython.remoting.xmlrpc import SSLClient

server_location = "https://localhost:8000/RPC2"
ca_certs = "./ca-chain.pem"

client = SSLClient(server_location, ca_certs)

print(client.pow(41, 3))
