"""A local service, created by the container instead of by the client (the first
step towards making it remote by configuration alone)."""

from springpython.config import XMLConfig
from springpython.context import ApplicationContext


class Service(object):
    def get_data(self, param):
        return "You got remote data => %s" % param


if __name__ == "__main__":
    service = Service()
    print(service.get_data("Hello"))

    appContext = ApplicationContext(XMLConfig("applicationContext.xml"))
    service = appContext.get_object("service")
    print(service.get_data("Hello"))
