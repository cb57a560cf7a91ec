#!/usr/bin/python3
"""Write tests/data/einsum_ref.lua: einsum cases computed by NumPy.

Run from the repository root with Debian's python3-numpy:
    /usr/bin/python3 tools/make_einsum_ref.py
Each case holds the subscripts, the operands (shape and row-major data)
and NumPy's result, so the specs can check gdnn without Python.
"""
import numpy as np

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ji,jk->ki", [(4, 3), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("abcd,cdef->abef", [(2, 3, 4, 2), (4, 2, 3, 2)]),
    ("pi,qj,ijkl,rk,sl->pqrs", [(2, 3), (2, 2), (3, 2, 2, 3), (2, 2),
                                (2, 3)]),
    ("ij,ij->", [(4, 5), (4, 5)]),
    ("ii->", [(5, 5)]),
    ("ii", [(4, 4)]),
    ("ii->i", [(4, 4)]),
    ("iij->ji", [(3, 3, 2)]),
    ("i,j->ij", [(3,), (4,)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (4, 2)]),
    ("...,...", [(3,), (2, 1)]),
    ("i...->...", [(3, 2, 2)]),
    ("ij,ij->ij", [(1, 3), (2, 3)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("j,ij->i", [(4,), (3, 4)]),
    ("i,i->", [(6,), (6,)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
    ("aA,Aa", [(3, 3), (3, 3)]),
    (",i->i", [(), (3,)]),
    (",->", [(), ()]),
    ("i,i->i", [(0,), (0,)]),
    ("ij,jk->ik", [(2, 0), (0, 3)]),
    ("ijk,jl,kl->il", [(2, 3, 4), (3, 5), (4, 5)]),
    ("abc,cd,de,ea->b", [(2, 3, 4), (4, 2), (2, 3), (3, 2)]),
    ("ij,jk,kl,lm,mn,no,op->ip", [(2, 3), (3, 2), (2, 4), (4, 2), (2, 3),
                                  (3, 2), (2, 2)]),
    ("bhid,bhjd->bhij", [(2, 2, 3, 4), (2, 2, 5, 4)]),
    ("i,i,i->", [(4,), (4,), (4,)]),
    ("ij,ji->", [(3, 3), (3, 3)]),
    ("ijk,ikl->jl", [(2, 3, 4), (2, 4, 3)]),
]


def lua_list(values, indent):
    """A Lua list of numbers, three to a line."""
    items = [repr(float(v)) for v in values]
    if len(items) <= 2:
        return "{" + ", ".join(items) + "}"
    pad = "\n" + " " * (indent + 2)
    rows = [", ".join(items[i:i + 3]) for i in range(0, len(items), 3)]
    return "{" + pad + ("," + pad).join(rows) + "\n" + " " * indent + "}"


def main():
    rng = np.random.default_rng(20240601)
    out = ["-- NumPy %s einsum results, written by" % np.__version__,
           "-- tools/make_einsum_ref.py; do not edit.",
           "return {"]
    for subs, shapes in CASES:
        ops = [rng.standard_normal(s) for s in shapes]
        res = np.asarray(np.einsum(subs, *ops))
        out.append("  {")
        out.append("    subscripts = %r," % subs)
        out.append("    operands = {")
        for op in ops:
            out.append("      {shape = {%s}, data = %s}," % (
                ", ".join(str(d) for d in op.shape),
                lua_list(op.ravel(), 6)))
        out.append("    },")
        out.append("    shape = {%s}," % ", ".join(str(d) for d in
                                                  res.shape))
        out.append("    result = %s," % lua_list(res.ravel(), 4))
        out.append("  },")
    out.append("}")
    with open("tests/data/einsum_ref.lua", "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
