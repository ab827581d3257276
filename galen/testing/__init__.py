"""Not part of galen's product: fixtures that galen's tests and benchmarks share.

Nothing under `galen/` outside this package imports it. It lives in the package (rather than
under tests/) only so that `benchmarks/` can use the same fixtures as the tests without editing
`sys.path`.

server.py      start a real `galen serve` on a free loopback port, and stop it
synthetic.py   exam-style medical items we generate (never trained on): decontamination noise
leaks.py       benchmark items changed as a careless corpus changes them (planted leaks)
naive.py       the naive difflib decontamination that the fast path must equal
"""
