# -*- coding: utf-8 -*-

# Spring Python
from springpython.remoting.xmlrpc import SSLClient

server_location = "https://localhost:8000/RPC2"
keyfile = "./client-key.pem"
certfile = "./client-cert.pem"
ca_certs = "./ca-chain.pem"

client = SSLClient(server_location, ca_certs, keyfile, certfile, verbose=1)

# The chapter stops at creating the client; one call shows the verbose output.
print(client.listdir("/home"))
