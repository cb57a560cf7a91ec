"""Write the .npy files that tests/io_spec.lua reads, with NumPy.

Run from the repository root: /usr/bin/python3 tests/data/npy/make_npy.py
Every array holds 0, 1, 2, ... in C order (or True/False for bool), so
the spec can check the values without NumPy.
"""
import numpy as np

D = "tests/data/npy/"
a = np.arange(6, dtype="<f8").reshape(2, 3)
np.save(D + "f8_2x3.npy", a)
np.save(D + "f8_fortran_2x3.npy", np.asfortranarray(a))
np.save(D + "f4_2x3.npy", a.astype("<f4"))
np.save(D + "i4_big_2x3.npy", a.astype(">i4"))
np.save(D + "i8_neg_3.npy", np.array([-1, -2, 3], dtype="<i8"))
np.save(D + "i2_neg_3.npy", np.array([-1, -300, 7], dtype="<i2"))
np.save(D + "u1_4.npy", np.arange(4, dtype="u1"))
np.save(D + "bool_3.npy", np.array([True, False, True]))
np.save(D + "f8_scalar.npy", np.array(2.5))
np.save(D + "f8_empty_0x3.npy", np.zeros((0, 3)))
np.save(D + "f8_3d_2x3x4.npy", np.arange(24.0).reshape(2, 3, 4))
np.save(D + "f8_fortran_2x3x4.npy",
        np.asfortranarray(np.arange(24.0).reshape(2, 3, 4)))
np.save(D + "c16_2.npy", np.array([1 + 2j, 3]))
