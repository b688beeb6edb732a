"""The seeded mutation fuzzer the decoder tests share: ``count`` inputs made from real
messages by flipping, inserting, deleting, repeating and splicing bytes and by adding
protocol tokens; the same inputs on every run."""

from __future__ import annotations

import random
from typing import Callable, Iterator

INPUTS = 50_000
SEED = 20260416
SAMPLE_EVERY = 250  # 200 of the 50,000 inputs also go to a real server


def mutants(seeds: list[bytes], tokens: list[bytes], count: int, seed: int) -> Iterator[bytes]:
    """``count`` inputs, each a seed message after one to four random mutations."""
    rng = random.Random(seed)
    for _ in range(count):
        data = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 4)):
            op = rng.randrange(8)
            at = rng.randint(0, len(data))
            if op == 0 and data:  # flip a byte
                at = min(at, len(data) - 1)
                data[at] = rng.randrange(256)
            elif op == 1:  # insert random bytes
                data[at:at] = rng.randbytes(rng.randint(1, 8))
            elif op == 2:  # delete a slice
                del data[at:at + rng.randint(1, 16)]
            elif op == 3:  # repeat a slice
                end = min(len(data), at + rng.randint(1, 16))
                data[at:at] = data[at:end] * rng.randint(1, 50)
            elif op == 4:  # truncate
                del data[at:]
            elif op == 5:  # splice in part of another seed
                other = rng.choice(seeds)
                start = rng.randint(0, len(other))
                data[at:at] = other[start:start + rng.randint(1, 64)]
            else:  # a protocol token
                data[at:at] = rng.choice(tokens)
        yield bytes(data)


def run_all(inputs: Iterator[bytes], decode: Callable[[bytes], object], allowed: tuple[type[BaseException], ...]
            ) -> list[bytes]:
    """Decode every input; fail on an exception not in ``allowed``; return the sample for servers."""
    sample = []
    for i, data in enumerate(inputs):
        try:
            decode(data)
        except allowed:
            pass
        except BaseException as exc:  # anything else is the failure this test looks for
            raise AssertionError(f"input {i} {data[:200]!r} raised {type(exc).__name__}: {exc}") from exc
        if i % SAMPLE_EVERY == 0:
            sample.append(data)
    return sample
