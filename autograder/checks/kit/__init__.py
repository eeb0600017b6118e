"""What every unit's checks are built from: one matcher, one meaning of "close", guards, the prelude.

* `diagnose` (numpy-free): which known mistake a wrong answer shows, by one rule for every unit;
* `tolerance`: relative tolerances, `within`, `close`;
* `arrays`: `compare`, an array answer against the truth, naming the mistake when it fails;
* `guard`: the SIGALRM time guard and the backward-pass counter for student code;
* `case`: the explicit-or-seeded choice of cases and the observe/judge prelude;
* `text`: test functions from strings and seeds, and call descriptions for failure messages.

Submodules that need numpy are not imported here, so that unit 02 (in a browser) can import
`autograder.checks.kit.diagnose` and `autograder.checks.kit.case`.
"""
