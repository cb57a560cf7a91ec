/*
** einsum_parse.c: reading an einsum subscripts string against its
** operands, choosing the pairwise contraction order by a FLOP cost model,
** and the numpy.einsum_path-like report of that order.
**
** Limits: labels are the letters a-z and A-Z; '...' may appear once per
** operand and once in the output; spaces are ignored.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "einsum_int.h"

/* Raw label ids: A-Z are 0..25, a-z 26..51, broadcast dim j is 52 + j. */
#define NRAW (52 + GD_MAX_DIMS)
#define NOSIZE ((size_t)-1)

/* What one comma-separated piece of the subscripts holds. */
typedef struct piece {
  size_t begin, end;          /* byte range in the string */
  int nlet;                   /* letters */
  int ell;                    /* letters before '...', or -1 */
  unsigned char raw[GD_MAX_DIMS * 4];
} piece;

/* Parser state: the raw sizes and which operand set them. */
typedef struct pstate {
  const char *s;
  int nops;
  const gd_tensor *const *ops;
  gd_error *err;
  piece in[EI_MAXOPS];
  piece out;
  int explicit_out;
  size_t rawsize[NRAW];
  int rawfrom[NRAW];
  int rawcount[NRAW];
  int rawid[NRAW];
} pstate;


static int raw_of(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  return 26 + (c - 'a');
}


static char letter_of(int raw) {
  return (char)(raw < 26 ? 'A' + raw : 'a' + raw - 26);
}


static int is_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}


/* An error about the character at byte pos (shown 1-based): "einsum:
** <pre>'c' at position n of 's'<post>". */
static gd_status bad_char(pstate *ps, size_t pos, const char *pre,
                          const char *post) {
  unsigned char c = (unsigned char)ps->s[pos];
  char shown[8];
  if (c >= 32 && c < 127)
    snprintf(shown, sizeof shown, "%c", (char)c);
  else
    snprintf(shown, sizeof shown, "\\x%02x", (unsigned)c);
  return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                      "einsum: %s'%s' at position %zu of '%s'%s", pre,
                      shown, pos + 1, ps->s, post);
}


/* Read the letters and the '...' of bytes begin..end into pc. Letters
** past the capacity are counted but not stored (the rank check fails
** on them first). */
static gd_status read_piece(pstate *ps, piece *pc, size_t begin,
                            size_t end, int is_out) {
  size_t i;
  pc->begin = begin;
  pc->end = end;
  pc->nlet = 0;
  pc->ell = -1;
  for (i = begin; i < end; i++) {
    char c = ps->s[i];
    if (c == ' ') continue;
    if (is_letter(c)) {
      if (pc->nlet < (int)sizeof pc->raw)
        pc->raw[pc->nlet] = (unsigned char)raw_of(c);
      pc->nlet++;
    } else if (c == '.') {
      if (i + 2 >= end || ps->s[i + 1] != '.' || ps->s[i + 2] != '.')
        return bad_char(ps, i, "", " is not part of '...'");
      if (pc->ell >= 0)
        return bad_char(ps, i, "a second ", " starts '...' again");
      pc->ell = pc->nlet;
      i += 2;
    } else if (c == ',' && is_out) {
      return bad_char(ps, i, "", " is in the output");
    } else {
      return bad_char(ps, i, "invalid character ", "");
    }
  }
  return GD_OK;
}


/* Split the string into operand pieces and the output piece. */
static gd_status split(pstate *ps) {
  const char *s = ps->s;
  size_t len = strlen(s), i, start = 0, arrow = len;
  int n = 0;
  gd_status st;
  for (i = 0; i < len; i++) {
    if (s[i] == '-') {
      if (s[i + 1] != '>')
        return bad_char(ps, i, "", " is not part of '->'");
      if (arrow != len)
        return bad_char(ps, i, "a second '->' (", ")");
      arrow = i;
      i++;
    } else if (s[i] == '>') {
      return bad_char(ps, i, "", " is not part of '->'");
    }
  }
  for (i = 0; i <= arrow; i++) {
    if (i < arrow && s[i] != ',') continue;
    if (n < EI_MAXOPS) {
      st = read_piece(ps, &ps->in[n], start, i, 0);
      if (st != GD_OK) return st;
    }
    n++;
    start = i + 1;
  }
  if (n != ps->nops)
    return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                        "einsum: subscripts '%s' name %d operand%s, got %d",
                        s, n, n == 1 ? "" : "s", ps->nops);
  ps->explicit_out = arrow != len;
  if (ps->explicit_out)
    return read_piece(ps, &ps->out, arrow + 2, len, 1);
  return GD_OK;
}


/* Shape of operand k as text, for messages. */
static const char *shape_of(pstate *ps, int k, char *buf, size_t n) {
  const gd_tensor *t = ps->ops[k];
  return gd_shape_str(buf, n, t->ndim, t->shape);
}


/* Give raw label r of operand k the size n, with broadcasting of size 1
** across operands. */
static gd_status set_size(pstate *ps, int r, int k, size_t n) {
  char b1[GD_SHAPESTR_SIZE], b2[GD_SHAPESTR_SIZE];
  size_t old = ps->rawsize[r];
  int j = ps->rawfrom[r];
  if (old == NOSIZE || old == 1) {
    ps->rawsize[r] = n;
    if (old == NOSIZE || n != 1) ps->rawfrom[r] = k;
    return GD_OK;
  }
  if (n == old || n == 1) return GD_OK;
  shape_of(ps, j, b1, sizeof b1);
  shape_of(ps, k, b2, sizeof b2);
  if (r < 52)
    return gd_error_set(ps->err, GD_ERR_SHAPE, k + 1,
                        "einsum: label '%c' has size %zu in operand %d "
                        "(%s) but %zu in operand %d (%s)", letter_of(r),
                        old, j + 1, b1, n, k + 1, b2);
  return gd_error_set(ps->err, GD_ERR_SHAPE, k + 1,
                      "einsum: '...' dims of operand %d (%s) and operand "
                      "%d (%s) do not broadcast (%zu vs %zu)", j + 1, b1,
                      k + 1, b2, old, n);
}


/* Map operand k's dims to raw labels in raw[] and check their sizes. */
static gd_status bind_operand(pstate *ps, int k, int nell,
                              unsigned char *raw) {
  const piece *pc = &ps->in[k];
  const gd_tensor *t = ps->ops[k];
  int e = t->ndim - pc->nlet, d, i, j = 0;
  gd_status st;
  for (i = 0; i < pc->nlet; i++) {
    if (i == pc->ell)
      for (d = 0; d < e; d++) raw[j++] = (unsigned char)(52 + nell - e + d);
    raw[j++] = pc->raw[i];
  }
  if (pc->ell == pc->nlet)
    for (d = 0; d < e; d++) raw[j++] = (unsigned char)(52 + nell - e + d);
  for (d = 0; d < t->ndim; d++) {
    for (i = 0; i < d; i++)
      if (raw[i] == raw[d] && t->shape[i] != t->shape[d])
        return gd_error_set(ps->err, GD_ERR_SHAPE, k + 1,
                            "einsum: label '%c' repeats in operand %d "
                            "with sizes %zu and %zu", letter_of(raw[d]),
                            k + 1, t->shape[i], t->shape[d]);
    st = set_size(ps, raw[d], k, t->shape[d]);
    if (st != GD_OK) return st;
    ps->rawcount[raw[d]]++;
  }
  return GD_OK;
}


/* Check each operand's rank against its piece; returns the number of
** dims '...' stands for, or -1 after filling the error. */
static int check_ranks(pstate *ps) {
  int k, nell = 0;
  for (k = 0; k < ps->nops; k++) {
    const piece *pc = &ps->in[k];
    int nd = ps->ops[k]->ndim;
    int len = (int)(pc->end - pc->begin);
    if ((pc->ell < 0 && pc->nlet != nd) || pc->nlet > nd) {
      gd_error_set(ps->err, GD_ERR_SHAPE, k + 1,
                   "einsum: operand %d has %d dims, subscripts '%.*s' "
                   "name %s%d", k + 1, nd, len, ps->s + pc->begin,
                   pc->ell < 0 ? "" : "at least ", pc->nlet);
      return -1;
    }
    if (pc->ell >= 0 && nd - pc->nlet > nell) nell = nd - pc->nlet;
  }
  return nell;
}


/* The output's raw labels: as written, or NumPy's implicit choice ('...'
** first, then the letters seen once, in ASCII order). */
static gd_status bind_output(pstate *ps, int nell, unsigned char *raw,
                             int *n) {
  const piece *pc = &ps->out;
  int i, j = 0, d, r;
  if (!ps->explicit_out) {
    for (d = 0; d < nell; d++) raw[j++] = (unsigned char)(52 + d);
    for (r = 0; r < 52; r++)
      if (ps->rawcount[r] == 1) {
        if (j == GD_MAX_DIMS) {
          j++;
          break;
        }
        raw[j++] = (unsigned char)r;
      }
    *n = j;
    return GD_OK;
  }
  if (nell > 0 && pc->ell < 0)
    return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                        "einsum: output of '%s' needs '...' for the %d "
                        "broadcast dims", ps->s, nell);
  for (i = 0; i <= pc->nlet; i++) {
    if (i == pc->ell)
      for (d = 0; d < nell; d++)
        if (j < GD_MAX_DIMS) raw[j++] = (unsigned char)(52 + d);
    if (i == pc->nlet) break;
    r = pc->raw[i];
    if (ps->rawcount[r] == 0)
      return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                          "einsum: output label '%c' of '%s' is in no "
                          "input", letter_of(r), ps->s);
    for (d = 0; d < j; d++)
      if (raw[d] == r)
        return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                            "einsum: output label '%c' repeats in '%s'",
                            letter_of(r), ps->s);
    if (j < GD_MAX_DIMS) raw[j++] = (unsigned char)r;
  }
  if (pc->nlet + (pc->ell >= 0 ? nell : 0) > GD_MAX_DIMS)
    j = GD_MAX_DIMS + 1;
  *n = j;
  return GD_OK;
}


/* Number the raw labels in use densely and name the broadcast dims with
** letters no operand uses. */
static gd_status renumber(pstate *ps, ei_parsed *p) {
  int r, n = 0, spare = 0;
  for (r = 0; r < NRAW; r++) {
    ps->rawid[r] = -1;
    if (ps->rawsize[r] == NOSIZE) continue;
    if (n == EI_MAXL)
      return gd_error_set(ps->err, GD_ERR_SUBSCRIPT, 0,
                          "einsum: '%s' uses more than %d distinct labels",
                          ps->s, EI_MAXL);
    ps->rawid[r] = n;
    p->size[n] = ps->rawsize[r];
    if (r < 52) {
      p->name[n] = letter_of(r);
    } else {
      while (spare < 52 && ps->rawsize[(spare + 26) % 52] != NOSIZE)
        spare++;
      p->name[n] = spare < 52 ? letter_of((spare + 26) % 52) : '?';
      spare++;
    }
    n++;
  }
  p->nlab = n;
  return GD_OK;
}


gd_status ei_parse(ei_parsed *p, const char *subs, int nops,
                   const gd_tensor *const *ops, gd_error *err) {
  static pstate zero;
  pstate ps = zero;
  unsigned char raw[EI_MAXOPS][GD_MAX_DIMS], outraw[GD_MAX_DIMS + 1];
  int k, d, r, nell, outn = 0;
  gd_status st;

  ps.s = subs;
  ps.nops = nops;
  ps.ops = ops;
  ps.err = err;
  for (r = 0; r < NRAW; r++) ps.rawsize[r] = NOSIZE;
  st = split(&ps);
  if (st != GD_OK) return st;
  nell = check_ranks(&ps);
  if (nell < 0) return GD_ERR_SHAPE;

  for (k = 0; k < nops; k++) {
    st = bind_operand(&ps, k, nell, raw[k]);
    if (st != GD_OK) return st;
  }
  st = bind_output(&ps, nell, outraw, &outn);
  if (st != GD_OK) return st;
  if (outn > GD_MAX_DIMS)
    return gd_error_set(err, GD_ERR_SHAPE, 0,
                        "einsum: the result of '%s' would have more than "
                        "%d dims", subs, GD_MAX_DIMS);
  st = renumber(&ps, p);
  if (st != GD_OK) return st;

  p->subs = subs;
  p->nops = nops;
  p->nell = nell;
  for (k = 0; k < nops; k++) {
    p->ndim[k] = ops[k]->ndim;
    for (d = 0; d < ops[k]->ndim; d++)
      p->lab[k][d] = (unsigned char)ps.rawid[raw[k][d]];
  }
  p->outn = outn;
  for (d = 0; d < outn; d++)
    p->outlab[d] = (unsigned char)ps.rawid[outraw[d]];
  return GD_OK;
}


void ei_input_term(ei_term *t, const ei_parsed *p, int k,
                   const gd_tensor *op) {
  int d;
  t->mask = 0;
  t->n = 0;
  t->slot = k;
  for (d = 0; d < p->ndim[k]; d++) {
    int l = p->lab[k][d];
    uint64_t bit = (uint64_t)1 << l;
    if (op->shape[d] == 1) continue;
    if (t->mask & bit) {
      t->st[l] += op->strides[d];
      continue;
    }
    t->mask |= bit;
    t->lab[t->n++] = (unsigned char)l;
    t->st[l] = op->strides[d];
  }
}


uint64_t ei_out_mask(const ei_parsed *p) {
  uint64_t m = 0;
  int d;
  for (d = 0; d < p->outn; d++) m |= (uint64_t)1 << p->outlab[d];
  return m;
}


double ei_mask_size(uint64_t m, const size_t *size) {
  double n = 1;
  int l;
  for (l = 0; m; l++, m >>= 1)
    if (m & 1) n *= (double)size[l];
  return n;
}


/* numpy's estimate for contracting two terms: one multiply-add per
** element of the joint index space, counted as two when something is
** summed. keep holds the labels still needed afterwards. */
static double pair_cost(uint64_t a, uint64_t b, uint64_t keep,
                        const size_t *size) {
  uint64_t all = a | b;
  return ei_mask_size(all, size) * ((all & ~keep) ? 2.0 : 1.0);
}


/* Labels needed after contracting positions i and j of m[0..n-1]. */
static uint64_t keep_of(const uint64_t *m, int n, int i, int j,
                        uint64_t out) {
  int k;
  for (k = 0; k < n; k++)
    if (k != i && k != j) out |= m[k];
  return out;
}


/* m without positions i < j, with r appended, into nm. */
static void contract_list(uint64_t *nm, const uint64_t *m, int n, int i,
                          int j, uint64_t r) {
  int k, w = 0;
  for (k = 0; k < n; k++)
    if (k != i && k != j) nm[w++] = m[k];
  nm[w] = r;
}


/* State of the exhaustive search. */
typedef struct search {
  const size_t *size;
  uint64_t out;
  double best;
  ei_path cur, *win;
} search;


/* Try every pair at this depth, pruning orders already dearer than the
** best one found. */
static void dfs(search *S, const uint64_t *m, int n, double cost,
                int depth) {
  uint64_t nm[EI_MAXOPS];
  int i, j;
  if (cost >= S->best) return;
  if (n == 1) {
    S->best = cost;
    S->cur.nsteps = depth;
    S->cur.total = cost;
    *S->win = S->cur;
    return;
  }
  for (i = 0; i < n; i++)
    for (j = i + 1; j < n; j++) {
      uint64_t keep = keep_of(m, n, i, j, S->out);
      uint64_t r = (m[i] | m[j]) & keep;
      double c = pair_cost(m[i], m[j], keep, S->size);
      S->cur.pairs[depth][0] = i;
      S->cur.pairs[depth][1] = j;
      S->cur.result[depth] = r;
      S->cur.cost[depth] = c;
      contract_list(nm, m, n, i, j, r);
      dfs(S, nm, n - 1, cost + c, depth + 1);
    }
}


/* Contract, each time, the pair whose result grows the least over its
** inputs (cheaper FLOPs break ties), as opt_einsum's greedy order. */
static void greedy(ei_path *path, const uint64_t *m0, int n,
                   uint64_t out, const size_t *size) {
  uint64_t m[EI_MAXOPS], nm[EI_MAXOPS];
  int s = 0, i, j;
  memcpy(m, m0, (size_t)n * sizeof *m);
  path->total = 0;
  while (n > 1) {
    double bscore = 0, bcost = 0;
    int bi = -1, bj = -1;
    uint64_t br = 0;
    for (i = 0; i < n; i++)
      for (j = i + 1; j < n; j++) {
        uint64_t keep = keep_of(m, n, i, j, out);
        uint64_t r = (m[i] | m[j]) & keep;
        double c = pair_cost(m[i], m[j], keep, size);
        double score = ei_mask_size(r, size) - ei_mask_size(m[i], size)
                       - ei_mask_size(m[j], size);
        if (bi < 0 || score < bscore || (score == bscore && c < bcost)) {
          bi = i; bj = j; bscore = score; bcost = c; br = r;
        }
      }
    path->pairs[s][0] = bi;
    path->pairs[s][1] = bj;
    path->result[s] = br;
    path->cost[s] = bcost;
    path->total += bcost;
    contract_list(nm, m, n, bi, bj, br);
    memcpy(m, nm, (size_t)(n - 1) * sizeof *m);
    n--;
    s++;
  }
  path->nsteps = s;
}


void ei_find_path(ei_path *path, const uint64_t *m, int n, uint64_t out,
                  const size_t *size) {
  search S;
  path->nsteps = 0;
  path->total = 0;
  if (n < 2) return;
  if (n > GD_EINSUM_OPTIMAL_MAX) {
    greedy(path, m, n, out, size);
    return;
  }
  S.size = size;
  S.out = out;
  S.win = path;
  greedy(path, m, n, out, size);
  S.best = path->total * (1 + 1e-12) + 1;
  dfs(&S, m, n, 0, 0);
}


/* ---- the report ----------------------------------------------------- */

#define RULE "-------------------------------------" \
             "-------------------------------------"

/* A growing text in gd_malloc'd memory. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
  int failed;
} sbuf;


static void sb_add(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
  __attribute__((format(printf, 2, 3)))
#endif
  ;


static void sb_add(sbuf *b, const char *fmt, ...) {
  va_list ap;
  int n;
  if (b->failed) return;
  va_start(ap, fmt);
  n = vsnprintf(b->p ? b->p + b->len : NULL,
                b->p ? b->cap - b->len : 0, fmt, ap);
  va_end(ap);
  if (n < 0) { b->failed = 1; return; }
  if (b->p == NULL || b->len + (size_t)n >= b->cap) {
    size_t cap = (b->cap ? b->cap : 256);
    char *q;
    while (cap <= b->len + (size_t)n) cap *= 2;
    q = (char *)gd_realloc(b->p, b->cap, cap);
    if (q == NULL) { b->failed = 1; return; }
    b->p = q;
    b->cap = cap;
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
  }
  b->len += (size_t)n;
}


/* The letters of a label set in ASCII order, into buf. */
static char *mask_name(char *buf, uint64_t m, const ei_parsed *p) {
  int n = 0, l, i, j;
  for (l = 0; l < p->nlab; l++)
    if (m >> l & 1) buf[n++] = p->name[l];
  for (i = 1; i < n; i++)
    for (j = i; j > 0 && buf[j - 1] > buf[j]; j--) {
      char c = buf[j];
      buf[j] = buf[j - 1];
      buf[j - 1] = c;
    }
  buf[n] = '\0';
  return buf;
}


/* Names of the current operands, joined by commas, then "->" and the
** output. */
static void add_list(sbuf *b, char (*names)[EI_MAXL + 1], int n,
                     const char *outname) {
  int k;
  for (k = 0; k < n; k++) sb_add(b, "%s%s", k ? "," : "", names[k]);
  sb_add(b, "->%s", outname);
}


static int popcount(uint64_t m) {
  int n = 0;
  for (; m; m &= m - 1) n++;
  return n;
}


/* The order as numpy.einsum_path prints it; scale[s] is the number of
** labels step s loops over. */
static void write_report(sbuf *b, const ei_parsed *p, const ei_path *path,
                         const gd_einsum_order *o, const int *scale,
                         int optscale) {
  char names[EI_MAXOPS][EI_MAXL + 1], outname[GD_MAX_DIMS + 1];
  char cur[2 * EI_MAXL + GD_MAX_DIMS + 8];
  sbuf line = {NULL, 0, 0, 0};
  int k, d, n = p->nops, s;

  for (k = 0; k < n; k++) {
    for (d = 0; d < p->ndim[k]; d++) names[k][d] = p->name[p->lab[k][d]];
    names[k][p->ndim[k]] = '\0';
  }
  for (d = 0; d < p->outn; d++) outname[d] = p->name[p->outlab[d]];
  outname[p->outn] = '\0';
  sb_add(b, "  Complete contraction:  ");
  add_list(b, names, n, outname);
  sb_add(b, "\n         Naive scaling:  %d\n     Optimized scaling:  %d\n"
         "      Naive FLOP count:  %.3e\n  Optimized FLOP count:  %.3e\n"
         "   Theoretical speedup:  %.3f\n  Largest intermediate:  %.3e "
         "elements\n", p->nlab, optscale, o->naive_flops, o->flops,
         o->flops > 0 ? o->naive_flops / o->flops : 1.0, o->largest);
  sb_add(b, "%s\n%-6s %24s %40s\n%s\n", RULE, "scaling", "current",
         "remaining", RULE);

  if (path->nsteps == 0) {
    snprintf(cur, sizeof cur, "%s->%s", names[0], outname);
    snprintf(names[0], sizeof names[0], "%s", outname);
    add_list(&line, names, 1, outname);
    sb_add(b, "%4d    %24s %40s\n", optscale, cur,
           line.failed ? "" : line.p);
  }
  for (s = 0; s < path->nsteps; s++) {
    int i = path->pairs[s][0], j = path->pairs[s][1], w = 0;
    char res[EI_MAXL + 1];
    mask_name(res, path->result[s], p);
    snprintf(cur, sizeof cur, "%s,%s->%s", names[j], names[i], res);
    for (k = 0; k < n; k++)
      if (k != i && k != j) memmove(names[w++], names[k], EI_MAXL + 1);
    memcpy(names[w], res, EI_MAXL + 1);
    n--;
    line.len = 0;
    add_list(&line, names, n, outname);
    sb_add(b, "%4d    %24s %40s\n", scale[s], cur,
           line.failed ? "" : line.p);
  }
  gd_free(line.p, line.cap);
  if (line.failed) b->failed = 1;
}


/* Fill o from the path over the terms' masks m; scale[s] gets the labels
** of step s; returns the largest of them. */
static int fill_order(gd_einsum_order *o, const ei_parsed *p,
                      const ei_path *path, const uint64_t *m0, int *scale) {
  uint64_t m[EI_MAXOPS], nm[EI_MAXOPS], out = ei_out_mask(p);
  int n = p->nops, s, top = 0;

  memset(o, 0, sizeof *o);
  memcpy(m, m0, (size_t)n * sizeof *m);
  o->naive_flops = ei_mask_size(p->nlab ? ~(uint64_t)0 >> (64 - p->nlab)
                                : 0, p->size)
                   * ((n > 1 ? n - 1 : 1) + (p->nlab > p->outn));
  o->largest = ei_mask_size(out, p->size);
  if (path->nsteps == 0) {
    o->nsteps = 1;
    o->pairs[0][0] = 0;
    o->pairs[0][1] = -1;
    o->flops = o->naive_flops;
    return popcount(m[0]);
  }
  o->nsteps = path->nsteps;
  for (s = 0; s < path->nsteps; s++) {
    int i = path->pairs[s][0], j = path->pairs[s][1];
    double r = ei_mask_size(path->result[s], p->size);
    scale[s] = popcount(m[i] | m[j]);
    if (scale[s] > top) top = scale[s];
    o->pairs[s][0] = i;
    o->pairs[s][1] = j;
    o->flops += path->cost[s];
    if (r > o->largest) o->largest = r;
    contract_list(nm, m, n, i, j, path->result[s]);
    memcpy(m, nm, (size_t)(n - 1) * sizeof *m);
    n--;
  }
  return top;
}


gd_status gd_einsum_path(gd_einsum_order *order, char **report,
                         size_t *len, const char *subscripts, int nops,
                         const gd_tensor *const *ops, gd_error *err) {
  ei_parsed p;
  ei_path path;
  ei_term t;
  gd_einsum_order o;
  uint64_t m[EI_MAXOPS];
  int k, scale[EI_MAXOPS], top;
  sbuf b = {NULL, 0, 0, 0};
  gd_status st;

  if (subscripts == NULL || ops == NULL || nops < 1 || nops > EI_MAXOPS)
    return gd_error_set(err, GD_ERR_ARG, 0, "einsum_path: takes 1 to %d "
                        "operands, got %d", EI_MAXOPS, nops);
  st = ei_parse(&p, subscripts, nops, ops, err);
  if (st != GD_OK) return st;
  for (k = 0; k < nops; k++) {
    ei_input_term(&t, &p, k, ops[k]);
    m[k] = t.mask;
  }
  ei_find_path(&path, m, nops, ei_out_mask(&p), p.size);
  top = fill_order(&o, &p, &path, m, scale);

  if (report != NULL) {
    write_report(&b, &p, &path, &o, scale, top);
    if (b.failed) {
      gd_free(b.p, b.cap);
      return gd_error_set(err, GD_ERR_NOMEM, 0,
                          "einsum_path: out of memory for the report");
    }
    *report = (char *)gd_realloc(b.p, b.cap, b.len + 1);
    if (*report == NULL) *report = b.p;
    if (len) *len = b.len;
  }
  *order = o;
  return GD_OK;
}
