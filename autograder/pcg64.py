"""numpy's default random generator (SeedSequence + PCG64) in pure Python, for uniform draws only.

The symbolic unit's checks draw their test points from `autograder.inputs.rng(seed)`. In a browser
kernel (Pyodide, offline) there is no numpy; `PurePCG64` then yields the very float64 draws numpy
would, so a self-learner meets the same points and messages as the grader. tests/test_without_numpy.py
compares its draws with numpy's.
"""

from __future__ import annotations

import itertools

_MASK32, _MASK64, _MASK128 = (1 << 32) - 1, (1 << 64) - 1, (1 << 128) - 1


def _seed_words(seed: int, count: int) -> list[int]:
    """`numpy.random.SeedSequence(seed).generate_state(count)`: `count` uint32 words from a seed >= 0."""
    entropy = [seed >> shift & _MASK32 for shift in range(0, max(seed.bit_length(), 1), 32)]
    hash_const = 0x43B0D7E5

    def hashmix(value: int) -> int:
        nonlocal hash_const
        value ^= hash_const
        hash_const = hash_const * 0x931E8875 & _MASK32
        value = value * hash_const & _MASK32
        return value ^ value >> 16

    def mix(x: int, y: int) -> int:
        result = (0xCA01F9DD * x - 0x4973F715 * y) & _MASK32
        return result ^ result >> 16

    pool = [hashmix(entropy[i] if i < len(entropy) else 0) for i in range(4)]
    for source in range(4):
        for target in range(4):
            if source != target:
                pool[target] = mix(pool[target], hashmix(pool[source]))
    for value in entropy[4:]:
        for target in range(4):
            pool[target] = mix(pool[target], hashmix(value))
    hash_const, words = 0x8B51F9DD, []
    for value in itertools.islice(itertools.cycle(pool), count):
        value ^= hash_const
        hash_const = hash_const * 0x58F38DED & _MASK32
        value = value * hash_const & _MASK32
        words.append(value ^ value >> 16)
    return words


class PurePCG64:
    """numpy's `default_rng(seed)` in pure Python, for `uniform` only: the same float64 draws.

    SeedSequence seeding, the 128-bit PCG64 (XSL-RR) step, and `low + (high - low) * (bits >> 11) / 2**53`.
    `tests/test_without_numpy.py` compares its draws with numpy's.
    """

    _MULTIPLIER = 0x2360ED051FC65DA44385DF649FCCF645

    def __init__(self, seed: int) -> None:
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise TypeError(f"seed must be an int >= 0, got {seed!r}")
        words = _seed_words(seed, 8)
        w64 = [words[k] | words[k + 1] << 32 for k in range(0, 8, 2)]  # four uint64 words, low half first
        state, sequence = w64[0] << 64 | w64[1], w64[2] << 64 | w64[3]  # two 128-bit numbers, high word first
        self._increment = (sequence << 1 | 1) & _MASK128
        self._state = 0
        self._step()
        self._state = (self._state + state) & _MASK128
        self._step()

    def _step(self) -> None:
        self._state = (self._state * self._MULTIPLIER + self._increment) & _MASK128

    def _next64(self) -> int:
        self._step()
        value, rotation = (self._state >> 64 ^ self._state) & _MASK64, self._state >> 122
        return (value >> rotation | value << (64 - rotation)) & _MASK64

    def uniform(self, low: float = 0.0, high: float = 1.0, size: int | None = None) -> float | list[float]:
        """One draw in [low, high), or a list of `size` draws (numpy returns an array there)."""
        draws = [low + (high - low) * ((self._next64() >> 11) * 2.0**-53) for _ in range(1 if size is None else size)]
        return draws[0] if size is None else draws
