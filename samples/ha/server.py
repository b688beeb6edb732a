"""The service of the high-availability sample: the chapter's Service, plus
``whoami`` so a client can see which copy answered."""


class Service(object):
    def __init__(self, name="ServiceName"):
        self.name = name

    def get_data(self, param):
        return "You got remote data => %s" % param

    def whoami(self):
        return self.name
