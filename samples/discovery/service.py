"""The sample's service: quotes, and which server answered."""


class QuoteService:
    """A plain class; nothing in it knows about etcd or the network."""

    def __init__(self, server: str = "server") -> None:
        self.server = server

    def whoami(self) -> str:
        return self.server

    def quote(self, symbol: str) -> str:
        return f"{symbol}: 42.00 (from {self.server})"
