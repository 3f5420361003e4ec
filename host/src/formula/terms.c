/*
 * terms.c — the formula grammar of patsy and its term algebra.  The token
 * stream is cut into operators (~ + - * / : ** and parentheses) and "Python
 * expressions" (everything else, read up to the next operator outside
 * brackets; pyexpr.c turns each into a factor, named by patsy's normalised
 * token spacing); an operator-precedence parser builds the tree, and the tree
 * is evaluated into term lists with patsy's rules for intercepts,
 * interactions, nesting (/) and powers.
 *
 * Nothing here is quadratic or recursive in the length of a formula: a chain
 * of operators at one level is evaluated in a loop (recursion follows only
 * real nesting, which is bounded), and term lists are hash sets kept in order
 * (termset.c).  Factors that only removed terms use are dropped at the end, as
 * patsy never evaluates them.
 */
#include "base/error.h"
#include "formula/formula_internal.h"
#include "formula/termset.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep hostile formulas from exhausting memory or time: terms
 * and interaction products are counted because (a + b + ...)**n grows
 * exponentially in the text's length. */
#define OOC_MAX_TERMS ((size_t)1 << 20)
#define OOC_MAX_TERM_PRODUCTS ((uint64_t)1 << 23)

/* ------------------------------------------------------------------ */
/* Formula-level tokens and the operator-precedence parser            */
/* ------------------------------------------------------------------ */

typedef enum ftok_kind { FT_OP, FT_LPAREN, FT_RPAREN, FT_ZERO, FT_ONE, FT_NUMBER, FT_EXPR } ftok_kind;

typedef struct ftok {
    ftok_kind kind;
    char op[3];            /* FT_OP */
    size_t start, end;     /* byte range */
    size_t tok_first, tok_count; /* FT_EXPR, FT_NUMBER: python tokens */
} ftok;

typedef struct pnode {
    ftok_kind kind;        /* FT_OP for operators, else the atom kind */
    char op[3];
    int arity;
    size_t args[2];
    size_t start, end;     /* origin */
    size_t op_start, op_len;
    size_t ftok;           /* atoms */
} pnode;

typedef struct stackop {
    char op[3];            /* "" for an open paren */
    int arity, precedence;
    size_t tok;            /* formula token index */
} stackop;

typedef struct fparser {
    ooc_model *m;
    const char *f;
    const ooc_tok *toks;
    ftok *ft;
    size_t nft;
    pnode *nodes;
    size_t nnodes, nodes_cap;
    size_t *nouns;
    size_t nnouns;
    stackop *ops;
    size_t nops;
    const ooc_formula_var *fvars;
    size_t nfvars;
    ooc_error *err;
    size_t depth;          /* recursion depth of eval_node: the formula's nesting */
    uint64_t products;     /* term products formed by interactions so far */
} fparser;

static int binary_precedence(const char *op)
{
    if (strcmp(op, "~") == 0)
        return -100;
    if (strcmp(op, "+") == 0 || strcmp(op, "-") == 0)
        return 100;
    if (strcmp(op, "*") == 0 || strcmp(op, "/") == 0)
        return 200;
    if (strcmp(op, ":") == 0)
        return 300;
    return 500; /* ** */
}

static bool is_formula_operator(const char *text, const ooc_tok *t)
{
    static const char *const ops[] = {"~", "+", "-", "*", "/", ":", "**", "(", ")"};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        if (ooc_tok_is(text, t, ops[i]))
            return true;
    return false;
}

/* Cut the python tokens into formula tokens as patsy's _tokenize_formula. */
static ooc_status formula_tokens(fparser *p, size_t ntok)
{
    p->ft = malloc((ntok ? ntok : 1) * sizeof *p->ft);
    if (!p->ft)
        return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
    size_t i = 0;
    while (i < ntok) {
        const ooc_tok *t = &p->toks[i];
        ftok *o = &p->ft[p->nft++];
        memset(o, 0, sizeof *o);
        o->start = t->start;
        if (is_formula_operator(p->f, t)) {
            o->end = t->start + t->len;
            if (ooc_tok_is(p->f, t, "("))
                o->kind = FT_LPAREN;
            else if (ooc_tok_is(p->f, t, ")"))
                o->kind = FT_RPAREN;
            else {
                o->kind = FT_OP;
                memcpy(o->op, p->f + t->start, t->len);
            }
            i++;
            continue;
        }
        /* A Python expression: up to an operator (other than '(') outside brackets. */
        size_t first = i;
        int depth = 0;
        while (i < ntok) {
            const ooc_tok *u = &p->toks[i];
            if (depth == 0 && is_formula_operator(p->f, u) && !ooc_tok_is(p->f, u, "("))
                break;
            if (ooc_tok_is(p->f, u, "(") || ooc_tok_is(p->f, u, "[") || ooc_tok_is(p->f, u, "{"))
                depth++;
            if (ooc_tok_is(p->f, u, ")") || ooc_tok_is(p->f, u, "]") || ooc_tok_is(p->f, u, "}")) {
                depth--;
                if (depth < 0)
                    return ooc_formula_error(p->err, p->f, u->start, u->len,
                                             "unmatched close bracket");
            }
            i++;
        }
        if (depth != 0)
            return ooc_formula_error(p->err, p->f, p->toks[first].start,
                                     p->toks[i - 1].start + p->toks[i - 1].len -
                                         p->toks[first].start,
                                     "unclosed bracket in expression");
        o->tok_first = first;
        o->tok_count = i - first;
        o->end = p->toks[i - 1].start + p->toks[i - 1].len;
        o->kind = FT_EXPR;
        if (i - first == 1 && t->type == OOC_TOK_NUMBER) {
            char buf[64];
            size_t n = t->len < sizeof buf - 1 ? t->len : sizeof buf - 1;
            memcpy(buf, p->f + t->start, n);
            buf[n] = '\0';
            char *endp;
            strtod(buf, &endp);
            if (strcmp(buf, "0") == 0)
                o->kind = FT_ZERO;
            else if (strcmp(buf, "1") == 0)
                o->kind = FT_ONE;
            else if (!*endp)
                o->kind = FT_NUMBER;
        }
    }
    return OOC_OK;
}

static ooc_status push_node(fparser *p, const pnode *n)
{
    if (p->nnodes == p->nodes_cap) {
        size_t ncap = p->nodes_cap ? 2 * p->nodes_cap : 16;
        pnode *bigger = realloc(p->nodes, ncap * sizeof *bigger);
        if (!bigger)
            return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
        p->nodes = bigger;
        p->nodes_cap = ncap;
    }
    p->nodes[p->nnodes] = *n;
    p->nouns[p->nnouns++] = p->nnodes++;
    return OOC_OK;
}

static ooc_status run_op(fparser *p)
{
    stackop so = p->ops[--p->nops];
    pnode n = {0};
    n.kind = FT_OP;
    memcpy(n.op, so.op, sizeof n.op);
    n.arity = so.arity;
    n.op_start = p->ft[so.tok].start;
    n.op_len = p->ft[so.tok].end - p->ft[so.tok].start;
    n.start = n.op_start;
    n.end = p->ft[so.tok].end;
    for (int k = so.arity - 1; k >= 0; k--) {
        size_t a = p->nouns[--p->nnouns];
        n.args[k] = a;
        if (p->nodes[a].start < n.start)
            n.start = p->nodes[a].start;
        if (p->nodes[a].end > n.end)
            n.end = p->nodes[a].end;
    }
    return push_node(p, &n);
}

static ooc_status infix_parse(fparser *p, size_t *root)
{
    ooc_status status = OOC_OK;
    size_t n = p->nft;
    p->nouns = malloc((n + 1) * sizeof *p->nouns);
    p->ops = malloc((n + 1) * sizeof *p->ops);
    if (!p->nouns || !p->ops)
        return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
    bool want_noun = true;
    for (size_t i = 0; i < n; i++) {
        const ftok *t = &p->ft[i];
        if (want_noun) {
            if (t->kind == FT_LPAREN) {
                stackop so = {"", -1, -9999999, i};
                p->ops[p->nops++] = so;
            } else if (t->kind == FT_OP &&
                       (strcmp(t->op, "~") == 0 || strcmp(t->op, "+") == 0 ||
                        strcmp(t->op, "-") == 0)) {
                stackop so = {"", 1, strcmp(t->op, "~") == 0 ? -100 : 100, i};
                memcpy(so.op, t->op, sizeof so.op);
                p->ops[p->nops++] = so;
            } else if (t->kind == FT_OP || t->kind == FT_RPAREN) {
                return ooc_formula_error(p->err, p->f, t->start, t->end - t->start,
                                         "unexpected token '%.*s'", (int)(t->end - t->start),
                                         p->f + t->start);
            } else {
                pnode nd = {0};
                nd.kind = t->kind;
                nd.start = t->start;
                nd.end = t->end;
                nd.ftok = i;
                OOC_CHECK(push_node(p, &nd));
                want_noun = false;
            }
        } else {
            if (t->kind == FT_RPAREN) {
                while (p->nops && p->ops[p->nops - 1].arity != -1)
                    OOC_CHECK(run_op(p));
                if (!p->nops)
                    return ooc_formula_error(p->err, p->f, t->start, 1,
                                             "unexpected token ')' (missing '(' or extra ')')");
                pnode *top = &p->nodes[p->nouns[p->nnouns - 1]];
                top->start = p->ft[p->ops[p->nops - 1].tok].start;
                top->end = t->end;
                p->nops--;
            } else if (t->kind == FT_OP) {
                int prec = binary_precedence(t->op);
                while (p->nops && prec <= p->ops[p->nops - 1].precedence)
                    OOC_CHECK(run_op(p));
                stackop so = {"", 2, prec, i};
                memcpy(so.op, t->op, sizeof so.op);
                p->ops[p->nops++] = so;
                want_noun = true;
            } else {
                return ooc_formula_error(p->err, p->f, t->start, t->end - t->start,
                                         "unexpected token '%.*s' (missing operator before it?)",
                                         (int)(t->end - t->start > 40 ? 40 : t->end - t->start),
                                         p->f + t->start);
            }
        }
    }
    if (want_noun) {
        if (!p->nops)
            return ooc_formula_error(p->err, p->f, strlen(p->f), 1, "empty formula");
        const ftok *t = &p->ft[p->ops[p->nops - 1].tok];
        return ooc_formula_error(p->err, p->f, t->start, t->end - t->start,
                                 "formula ends after '%.*s' (expected a term)",
                                 (int)(t->end - t->start), p->f + t->start);
    }
    while (p->nops) {
        if (p->ops[p->nops - 1].arity == -1) {
            const ftok *t = &p->ft[p->ops[p->nops - 1].tok];
            return ooc_formula_error(p->err, p->f, t->start, 1, "unmatched '('");
        }
        OOC_CHECK(run_op(p));
    }
    *root = p->nouns[0];
out:
    return status;
}

/* ------------------------------------------------------------------ */
/* Evaluation of the parse tree into terms (patsy desc.py rules)      */
/* ------------------------------------------------------------------ */

typedef struct iexpr {
    bool intercept;
    size_t intercept_pos, intercept_len;
    bool intercept_removed;
    ooc_termset terms;
} iexpr;

static void iexpr_free(iexpr *e) { ooc_termset_free(&e->terms); }

static ooc_status eval_node(fparser *p, size_t node, iexpr *out);

static ooc_status node_error(fparser *p, size_t node, const char *what)
{
    const pnode *n = &p->nodes[node];
    return ooc_formula_error(p->err, p->f, n->start, n->end - n->start, "%s", what);
}

/* Add factor x to the distinct factors d[0..*k) unless there.  Errors (caret
 * under `node`): more than OOC_MAX_TERM_FACTORS of them. */
static ooc_status add_distinct(fparser *p, size_t node, size_t *d, size_t *k, size_t x)
{
    for (size_t j = 0; j < *k; j++)
        if (d[j] == x)
            return OOC_OK;
    if (*k == OOC_MAX_TERM_FACTORS) {
        char what[64];
        snprintf(what, sizeof what, "a term has more than %d factors", OOC_MAX_TERM_FACTORS);
        return node_error(p, node, what);
    }
    d[(*k)++] = x;
    return OOC_OK;
}

/* Add the term with factors f[0..n) (repeats merged) to ts unless it is
 * there.  Errors (caret under `node`): more than OOC_MAX_TERM_FACTORS
 * factors, more than OOC_MAX_TERMS terms; OOC_ERR_NOMEM. */
static ooc_status term_add(fparser *p, size_t node, ooc_termset *ts, const size_t *f, size_t n)
{
    size_t distinct[OOC_MAX_TERM_FACTORS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ooc_status status = add_distinct(p, node, distinct, &k, f[i]);
        if (status != OOC_OK)
            return status;
    }
    uint64_t h = ooc_term_hash(distinct, k);
    if (ooc_termset_find(ts, distinct, k, h) != SIZE_MAX)
        return OOC_OK;
    if (ts->live >= OOC_MAX_TERMS) {
        char what[64];
        snprintf(what, sizeof what, "more than %zu terms", OOC_MAX_TERMS);
        return node_error(p, node, what);
    }
    if (!ooc_termset_append(ts, distinct, k, h))
        return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
    return OOC_OK;
}

/* Append the live terms of src to dst (those not there yet). */
static ooc_status term_add_all(fparser *p, size_t node, ooc_termset *dst, const ooc_termset *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const ooc_termset_item *t = &src->items[i];
        if (t->dead)
            continue;
        ooc_status status = term_add(p, node, dst, t->factors, t->nfactors);
        if (status != OOC_OK)
            return status;
    }
    return OOC_OK;
}

static ooc_status check_interactable(fparser *p, const iexpr *e)
{
    if (e->intercept)
        return ooc_formula_error(p->err, p->f, e->intercept_pos, e->intercept_len,
                                 "intercept term cannot interact with anything else");
    return OOC_OK;
}

/* patsy's _interaction: each term of l with each term of r, appended to out.
 * Counts the products against OOC_MAX_TERM_PRODUCTS before forming them. */
static ooc_status interaction(fparser *p, size_t node, const iexpr *l, const iexpr *r,
                              ooc_termset *out)
{
    ooc_status status;
    OOC_CHECK(check_interactable(p, l));
    OOC_CHECK(check_interactable(p, r));
    uint64_t products = (uint64_t)l->terms.live * r->terms.live;
    if (products > OOC_MAX_TERM_PRODUCTS - p->products) {
        char what[96];
        snprintf(what, sizeof what, "the interactions expand to more than %llu terms",
                 (unsigned long long)OOC_MAX_TERM_PRODUCTS);
        return node_error(p, node, what);
    }
    p->products += products;
    size_t f[2 * OOC_MAX_TERM_FACTORS];
    for (size_t i = 0; i < l->terms.n; i++) {
        const ooc_termset_item *a = &l->terms.items[i];
        for (size_t j = 0; j < r->terms.n && !a->dead; j++) {
            const ooc_termset_item *b = &r->terms.items[j];
            if (b->dead)
                continue;
            memcpy(f, a->factors, a->nfactors * sizeof *f);
            memcpy(f + a->nfactors, b->factors, b->nfactors * sizeof *f);
            OOC_CHECK(term_add(p, node, out, f, a->nfactors + b->nfactors));
        }
    }
out:
    return status;
}

/* Replace acc's terms with ts's (taking them) and clear its intercept: what
 * patsy's '*', '/', ':' and '**' return. */
static void take_terms(iexpr *acc, ooc_termset *ts)
{
    ooc_termset_free(&acc->terms);
    acc->terms = *ts;
    memset(ts, 0, sizeof *ts);
    acc->intercept = acc->intercept_removed = false;
}

/* patsy's '**': acc ** (the number under the operator's right operand). */
static ooc_status power(fparser *p, size_t node, iexpr *acc)
{
    const pnode *rn = &p->nodes[p->nodes[node].args[1]];
    iexpr base = {0}, big = {0}, next = {0};
    ooc_termset all = {0};
    ooc_status status;
    OOC_CHECK(check_interactable(p, acc));
    long exponent = -1;
    if (rn->kind == FT_ONE || rn->kind == FT_NUMBER) {
        const ftok *t = &p->ft[rn->ftok];
        char buf[32];
        size_t len = t->end - t->start < sizeof buf - 1 ? t->end - t->start : sizeof buf - 1;
        memcpy(buf, p->f + t->start, len);
        buf[len] = '\0';
        char *endp;
        long v = strtol(buf, &endp, 10);
        if (!*endp)
            exponent = v;
    }
    if (exponent < 1) {
        status = node_error(p, p->nodes[node].args[1], "'**' requires a positive integer");
        goto out;
    }
    if ((size_t)exponent > acc->terms.live)
        exponent = (long)acc->terms.live;
    OOC_CHECK(term_add_all(p, node, &base.terms, &acc->terms));
    OOC_CHECK(term_add_all(p, node, &big.terms, &acc->terms));
    OOC_CHECK(term_add_all(p, node, &all, &acc->terms));
    for (long i = 1; i < exponent; i++) {
        OOC_CHECK(interaction(p, node, &base, &big, &next.terms));
        OOC_CHECK(term_add_all(p, node, &all, &next.terms));
        iexpr_free(&big);
        big = next;
        memset(&next, 0, sizeof next);
    }
    take_terms(acc, &all);
out:
    iexpr_free(&base);
    iexpr_free(&big);
    iexpr_free(&next);
    ooc_termset_free(&all);
    return status;
}

/* Apply binary operator `node` to acc (its left operand, already evaluated)
 * and its right operand, leaving the result in acc. */
static ooc_status combine(fparser *p, size_t node, iexpr *acc)
{
    const pnode *n = &p->nodes[node];
    const pnode *rn = &p->nodes[n->args[1]];
    iexpr r = {0}, other = {0};
    ooc_termset t = {0};
    ooc_status status = OOC_OK;
    const char *op = n->op;
    if (strcmp(op, "**") == 0)
        return power(p, node, acc);
    if (strcmp(op, "+") == 0 && rn->kind == FT_ZERO) {
        acc->intercept = false;
        acc->intercept_removed = true;
        return OOC_OK;
    }
    if (strcmp(op, "-") == 0 && rn->kind == FT_ZERO) {
        acc->intercept = true;
        acc->intercept_pos = rn->start;
        acc->intercept_len = rn->end - rn->start;
        acc->intercept_removed = false;
        return OOC_OK;
    }
    if (strcmp(op, "-") == 0 && rn->kind == FT_ONE) {
        acc->intercept = false;
        acc->intercept_removed = true;
        return OOC_OK;
    }
    OOC_CHECK(eval_node(p, n->args[1], &r));
    if (strcmp(op, "+") == 0) {
        if (r.intercept) {
            acc->intercept = true;
            acc->intercept_pos = r.intercept_pos;
            acc->intercept_len = r.intercept_len;
            acc->intercept_removed = false;
        }
        OOC_CHECK(term_add_all(p, node, &acc->terms, &r.terms));
    } else if (strcmp(op, "-") == 0) {
        for (size_t i = 0; i < r.terms.n; i++)
            if (!r.terms.items[i].dead)
                ooc_termset_remove(&acc->terms, &r.terms.items[i]);
        if (r.intercept) {
            acc->intercept = false;
            acc->intercept_removed = true;
        }
    } else if (strcmp(op, "*") == 0) {
        OOC_CHECK(interaction(p, node, acc, &r, &t));
        OOC_CHECK(term_add_all(p, node, &acc->terms, &r.terms));
        OOC_CHECK(term_add_all(p, node, &acc->terms, &t));
        acc->intercept = acc->intercept_removed = false;
    } else if (strcmp(op, "/") == 0) {
        OOC_CHECK(check_interactable(p, acc));
        /* all of the left side's factors as one term, interacting with the right side */
        size_t all[OOC_MAX_TERM_FACTORS], k = 0;
        for (size_t i = 0; i < acc->terms.n; i++) {
            const ooc_termset_item *lt = &acc->terms.items[i];
            for (size_t j = 0; j < lt->nfactors && !lt->dead; j++)
                OOC_CHECK(add_distinct(p, node, all, &k, lt->factors[j]));
        }
        OOC_CHECK(term_add(p, node, &other.terms, all, k));
        OOC_CHECK(interaction(p, node, &other, &r, &t));
        OOC_CHECK(term_add_all(p, node, &acc->terms, &t));
        acc->intercept = acc->intercept_removed = false;
    } else { /* ":" */
        OOC_CHECK(interaction(p, node, acc, &r, &t));
        take_terms(acc, &t);
    }
out:
    iexpr_free(&r);
    iexpr_free(&other);
    ooc_termset_free(&t);
    return status;
}

static bool is_binary_op(const pnode *n)
{
    return n->kind == FT_OP && n->arity == 2 && strcmp(n->op, "~") != 0;
}

/* A left-associative chain of binary operators (a + b - c:d * e ...):
 * the operand at the bottom of its left spine, then each operator from the
 * bottom up with its right operand.  Only right operands (and the bottom
 * operand) recurse, so the depth of recursion is the formula's nesting, not
 * the length of the chain. */
static ooc_status eval_chain(fparser *p, size_t node, iexpr *acc)
{
    ooc_status status = OOC_OK;
    size_t len = 0, k = node;
    for (; is_binary_op(&p->nodes[k]); k = p->nodes[k].args[0])
        len++;
    size_t *spine = malloc(len * sizeof *spine);
    if (!spine)
        return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
    size_t i = len;
    for (k = node; is_binary_op(&p->nodes[k]); k = p->nodes[k].args[0])
        spine[--i] = k;
    OOC_CHECK(eval_node(p, k, acc));
    for (i = 0; i < len; i++)
        OOC_CHECK(combine(p, spine[i], acc));
out:
    free(spine);
    return status;
}

/* An operand that is not a binary operator: an atom, a unary operator, a '~'. */
static ooc_status eval_operand(fparser *p, size_t node, iexpr *out)
{
    const pnode *n = &p->nodes[node];
    switch (n->kind) {
    case FT_ZERO: out->intercept_removed = true; return OOC_OK;
    case FT_ONE:
        out->intercept = true;
        out->intercept_pos = n->start;
        out->intercept_len = n->end - n->start;
        return OOC_OK;
    case FT_NUMBER:
        return node_error(p, node, "numbers besides '0' and '1' are only allowed with **");
    case FT_EXPR: {
        const ftok *t = &p->ft[n->ftok];
        size_t f = 0;
        ooc_status status = ooc_formula_make_factor(p->m, p->toks, t->tok_first, t->tok_count,
                                                    p->fvars, p->nfvars, &f, p->err);
        if (status != OOC_OK)
            return status;
        return term_add(p, node, &out->terms, &f, 1);
    }
    case FT_OP:
        if (strcmp(n->op, "~") == 0)
            return node_error(p, node, "'~' can only be used once, and only at the top level");
        if (strcmp(n->op, "+") == 0)
            return eval_node(p, n->args[0], out);
        if (p->nodes[n->args[0]].kind == FT_ZERO) {
            out->intercept = true;
            out->intercept_pos = n->start;
            out->intercept_len = n->end - n->start;
            return OOC_OK;
        }
        if (p->nodes[n->args[0]].kind == FT_ONE) {
            out->intercept_removed = true;
            return OOC_OK;
        }
        return node_error(p, node, "unary minus can only be applied to 1 or 0");
    default: return node_error(p, node, "unexpected token");
    }
}

/* Evaluate the subtree at `node` into *out (initialised here), with a bound
 * on the formula's nesting. */
static ooc_status eval_node(fparser *p, size_t node, iexpr *out)
{
    memset(out, 0, sizeof *out);
    if (p->depth >= OOC_MAX_NESTING)
        return node_error(p, node, "formula nested too deeply");
    p->depth++;
    ooc_status status = is_binary_op(&p->nodes[node]) ? eval_chain(p, node, out)
                                                      : eval_operand(p, node, out);
    p->depth--;
    return status;
}

/* The first live term of a set that has one. */
static const ooc_termset_item *first_live(const ooc_termset *ts)
{
    size_t i = 0;
    while (ts->items[i].dead)
        i++;
    return &ts->items[i];
}

/* Append a term to the model's final list (taking `factors`). */
static ooc_status rhs_push(ooc_model *m, size_t *factors, size_t n, ooc_error *err)
{
    ooc_term_list *l = &m->rhs;
    if (l->n == l->cap) {
        size_t ncap = l->cap ? 2 * l->cap : 8;
        ooc_term *bigger = realloc(l->items, ncap * sizeof *bigger);
        if (!bigger) {
            free(factors);
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        l->items = bigger;
        l->cap = ncap;
    }
    l->items[l->n].factors = factors;
    l->items[l->n].nfactors = n;
    l->n++;
    return OOC_OK;
}

/* m->rhs: the intercept unless removed, then the live terms of rhs (taken). */
static ooc_status set_rhs(ooc_model *m, iexpr *rhs, ooc_error *err)
{
    ooc_status status = OOC_OK;
    if (!rhs->intercept_removed) {
        size_t *none = malloc(sizeof *none);
        if (!none)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        OOC_CHECK(rhs_push(m, none, 0, err));
    }
    for (size_t i = 0; i < rhs->terms.n; i++) {
        ooc_termset_item *t = &rhs->terms.items[i];
        if (t->dead)
            continue;
        size_t *factors = t->factors;
        t->factors = NULL;
        OOC_CHECK(rhs_push(m, factors, t->nfactors, err));
    }
out:
    return status;
}

/* Renumber the entries of index ix (text -> old number) through map, dropping
 * those mapped to SIZE_MAX.  Errors: OOC_ERR_NOMEM. */
static ooc_status remap_index(ooc_text_index *ix, const size_t *map, ooc_error *err)
{
    ooc_text_index old = *ix;
    memset(ix, 0, sizeof *ix);
    ooc_status status = OOC_OK;
    for (size_t i = 0; i < old.cap && status == OOC_OK; i++)
        if (old.slots[i].key && map[old.slots[i].value] != SIZE_MAX &&
            !ooc_text_index_insert(ix, old.slots[i].key, old.slots[i].len, map[old.slots[i].value]))
            status = OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    ooc_text_index_free(&old);
    return status;
}

/* Forget the factors that no final term uses (and the variables and text
 * comparisons only they read), as patsy never evaluates them: "a*b - a*b + a"
 * reads only a, so a missing b drops no row and an unknown b is no error.
 * Numbering keeps its order.  Errors: OOC_ERR_NOMEM. */
static ooc_status drop_unused_factors(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t *fmap = malloc((m->nfactors + 1) * sizeof *fmap);
    size_t *vmap = malloc((m->nvars + 1) * sizeof *vmap);
    size_t *tmap = malloc((m->ntests + 1) * sizeof *tmap);
    OOC_FAIL_IF(!fmap || !vmap || !tmap, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nfactors; i++)
        fmap[i] = SIZE_MAX;
    for (size_t i = 0; i < m->nvars; i++)
        vmap[i] = SIZE_MAX;
    for (size_t i = 0; i < m->ntests; i++)
        tmap[i] = SIZE_MAX;
    if (m->has_response)
        fmap[m->response_factor] = 0;
    for (size_t t = 0; t < m->rhs.n; t++)
        for (size_t k = 0; k < m->rhs.items[t].nfactors; k++)
            fmap[m->rhs.items[t].factors[k]] = 0;
    size_t nf = 0, old_nfactors = m->nfactors, old_nvars = m->nvars;
    for (size_t i = 0; i < m->nfactors; i++) {
        ooc_factor *f = &m->factors[i];
        if (fmap[i] == SIZE_MAX) {
            free(f->code);
            free(f->ref.text);
            ooc_level_list_free(&f->levels);
            free(f->prog);
            free(f->scores);
            ooc_factor_free_transforms(f);
            continue;
        }
        fmap[i] = nf;
        if (ooc_factor_reads_column(f->kind))
            vmap[f->var] = 0;
        for (size_t k = 0; k < f->nprog; k++) {
            if (f->prog[k].op == OOC_EX_VAR)
                vmap[f->prog[k].var] = 0;
            if (f->prog[k].op == OOC_EX_TEXT) {
                tmap[f->prog[k].var] = 0;
                vmap[m->tests[f->prog[k].var].var] = 0;
            }
        }
        m->factors[nf++] = *f;
    }
    m->nfactors = nf;
    size_t nv = 0;
    for (size_t i = 0; i < m->nvars; i++) {
        if (vmap[i] == SIZE_MAX) {
            free(m->vars[i].name);
            continue;
        }
        vmap[i] = nv;
        m->vars[nv] = m->vars[i];
        m->vars[nv++].needs_scan = false; /* set again below by the factors kept */
    }
    m->nvars = nv;
    size_t nt = 0;
    for (size_t i = 0; i < m->ntests; i++) {
        if (tmap[i] == SIZE_MAX) {
            free(m->tests[i].text);
            continue;
        }
        tmap[i] = nt;
        m->tests[nt] = m->tests[i];
        m->tests[nt++].var = vmap[m->tests[i].var];
    }
    m->ntests = nt;
    for (size_t i = 0; i < nf; i++) {
        ooc_factor *f = &m->factors[i];
        if (ooc_factor_reads_column(f->kind))
            f->var = vmap[f->var];
        if (f->kind == OOC_FACTOR_CAT && !f->has_given_levels)
            m->vars[f->var].needs_scan = true;
        for (size_t k = 0; k < f->nprog; k++)
            if (f->prog[k].op == OOC_EX_VAR || f->prog[k].op == OOC_EX_TEXT)
                f->prog[k].var = (f->prog[k].op == OOC_EX_VAR ? vmap : tmap)[f->prog[k].var];
    }
    if (m->has_response)
        m->response_factor = fmap[m->response_factor];
    for (size_t t = 0; t < m->rhs.n; t++)
        for (size_t k = 0; k < m->rhs.items[t].nfactors; k++)
            m->rhs.items[t].factors[k] = fmap[m->rhs.items[t].factors[k]];
    if (nf < old_nfactors)
        OOC_CHECK(remap_index(&m->factor_index, fmap, err));
    if (nv < old_nvars)
        OOC_CHECK(remap_index(&m->var_index, vmap, err));
out:
    free(fmap);
    free(vmap);
    free(tmap);
    return status;
}

ooc_status ooc_formula_build(ooc_model *m, const ooc_formula_var *vars, size_t nvars,
                             ooc_error *err)
{
    fparser p = {0};
    p.m = m;
    p.f = m->formula;
    p.fvars = vars;
    p.nfvars = nvars;
    p.err = err;
    ooc_tok *toks = NULL;
    size_t ntok = 0;
    iexpr lhs = {0}, rhs = {0};
    ooc_status status;
    OOC_CHECK(ooc_formula_tokenize(m->formula, &toks, &ntok, err));
    p.toks = toks;
    if (ntok == 0) {
        /* patsy treats an empty formula as "~ 1" */
        OOC_CHECK(set_rhs(m, &rhs, err));
        goto out;
    }
    OOC_CHECK(formula_tokens(&p, ntok));
    size_t root = 0;
    OOC_CHECK(infix_parse(&p, &root));
    const pnode *r = &p.nodes[root];
    bool tilde = r->kind == FT_OP && strcmp(r->op, "~") == 0;
    if (tilde && r->arity == 2) {
        OOC_CHECK(eval_node(&p, r->args[0], &lhs));
        const pnode *ln = &p.nodes[r->args[0]];
        if (lhs.intercept || lhs.terms.live != 1 || first_live(&lhs.terms)->nfactors != 1) {
            status = ooc_formula_error(err, m->formula, ln->start, ln->end - ln->start,
                                       "the left-hand side must be a single variable or "
                                       "expression");
            goto out;
        }
        size_t f = first_live(&lhs.terms)->factors[0];
        if (m->factors[f].categorical) {
            status = ooc_formula_error(err, m->formula, ln->start, ln->end - ln->start,
                                       "the response cannot be categorical");
            goto out;
        }
        if (m->factors[f].kind == OOC_FACTOR_SPLINE) {
            status = ooc_formula_error(err, m->formula, ln->start, ln->end - ln->start,
                                       "the response must be one column, not a spline");
            goto out;
        }
        m->has_response = true;
        m->response_factor = f;
    }
    OOC_CHECK(eval_node(&p, tilde ? r->args[r->arity - 1] : root, &rhs));
    OOC_CHECK(set_rhs(m, &rhs, err));
    OOC_CHECK(drop_unused_factors(m, err));
out:
    iexpr_free(&lhs);
    iexpr_free(&rhs);
    free(toks);
    free(p.ft);
    free(p.nodes);
    free(p.nouns);
    free(p.ops);
    return status;
}
