# Reference values for tests/kernels_spec.lua: tanh from the C library
# (Python's math.tanh) and the logistic sigmoid rounded from 50 digits.
# Run from the repository root: python3 tests/data/make_kernels_ref.py
import math
from decimal import Decimal, getcontext

getcontext().prec = 50
xs = [5e-324, 1e-310, 1e-300, 1e-20, 1e-8, 3e-5, 1e-3]
xs += [i / 64 for i in range(1, 64 * 25 + 1)]
xs += [19.06, 20.5, 36.0, 40.0, 100.0, 700.0, 708.5, 709.5, 740.0, 1e10,
       1e300]
xs += [-x for x in xs]


def sigmoid(x):
    if x >= 0:
        return float(1 / (1 + (-Decimal(x)).exp()))
    e = Decimal(x).exp()
    return float(e / (1 + e))


with open("tests/data/kernels_ref.lua", "w") as f:
    f.write("-- tanh (C library) and sigmoid (50 digits) at x, written by\n")
    f.write("-- tests/data/make_kernels_ref.py; do not edit.\n")
    f.write("return {\n")
    for x in xs:
        f.write("  {%r, %r, %r},\n" % (x, math.tanh(x), sigmoid(x)))
    f.write("}\n")
