"""What the automatic-differentiation units (03 forward, 04 reverse, 07 higher order) share.

* `operators`: the operations every AD class is driven by, and the mistakes of the reflected
  operators (`3 - x`, `3 / x`), which forward and reverse mode make alike;
* `student`: reading the student's AD objects and elementary functions in the observing half, and
  the failure of a guarded computation that timed out or recursed too deep.

Units import from here and from `kit`, never from one another.
"""
