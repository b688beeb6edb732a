import logging

from springpython.config import XMLConfig
from springpython.context import ApplicationContext
if __name__ == "__main__":
    # Turn on some logging in order to see what is happening behind the scenes...
    logger = logging.getLogger("springpython")
    loggingLevel = logging.INFO
    logger.setLevel(loggingLevel)
    ch = logging.StreamHandler()
    ch.setLevel(loggingLevel)
    formatter = logging.Formatter("%(asctime)s - %(name)s - %(levelname)s - %(message)s")
    ch.setFormatter(formatter)
    logger.addHandler(ch)

    appContext = ApplicationContext(XMLConfig("client.xml"))
    service = appContext.get_object("personService")
    print("CLIENT: %s" % service.greet("Hessian"))
    print("CLIENT: %s" % service.get_person("ann"))
    print("CLIENT: %s" % service.add_person("bob", {"name": "Bob", "age": 7, "languages": []}))
    try:
        service.get_person("nobody")
    except LookupError as fault:  # the service's LookupError, also a springpython RemoteFault
        print("CLIENT: fault %s: %s" % (fault.remote_type, fault))
    appContext.shutdown()
