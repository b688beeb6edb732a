import logging
import threading

from springpython.config import XMLConfig
from springpython.context import ApplicationContext


class PersonService(object):
    """A plain service: nothing in it knows about Hessian."""

    def __init__(self):
        self.people = {"ann": {"name": "Ann", "age": 42, "languages": ["Python", "Java"]}}

    def get_person(self, key):
        if key not in self.people:
            raise LookupError("no person %r" % key)
        return self.people[key]

    def add_person(self, key, person):
        self.people[key] = person
        return sorted(self.people)

    def greet(self, name):
        return "Hello, %s \U0001F600" % name


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

    appContext = ApplicationContext(XMLConfig("server.xml"))
    exporter = appContext.get_object("personServiceExporter")
    print("SERVER: serving personService at %s" % exporter.service_url, flush=True)
    try:
        threading.Event().wait()  # serve until Ctrl-C
    except KeyboardInterrupt:
        pass
    finally:
        appContext.shutdown()
        print("SERVER: stopped", flush=True)
