from springpython.config import XMLConfig
from springpython.context import ApplicationContext

class Service(object):
    def get_data(self, param):
        return "You got remote data => %s" % param

if __name__ == "__main__":
    appContext = ApplicationContext(XMLConfig("applicationContext.xml"))
    service = appContext.get_object("service")
    print(service.get_data("Hello"))
