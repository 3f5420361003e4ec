/*
 * formula_parse.c — the grammar of patsy formulas and of the Python-like
 * factor expressions inside them.
 *
 * The formula level follows patsy exactly: the token stream is cut into
 * operators (~ + - * / : ** and parentheses) and "Python expressions"
 * (everything else, read up to the next operator outside brackets); an
 * operator-precedence parser builds the tree, and the tree is evaluated into
 * term lists with patsy's rules for intercepts, interactions, nesting (/) and
 * powers.  Each Python expression becomes a factor, named by patsy's
 * normalised token spacing.  Supported factors: a column name, Q('name'),
 * C(name[, Treatment|Sum[(ref)]][, levels=...]), I(arithmetic) and the
 * functions log, log1p, exp, sqrt, abs (optionally np./numpy. prefixed).
 *
 * Nothing here is quadratic or recursive in the length of a formula: the
 * parsers loop over chains of operators at one level (recursion follows only
 * real nesting, which is bounded), term lists are hash sets kept in order,
 * and variables and factors are found by hashing.  Factors that only removed
 * terms use are dropped at the end, as patsy never evaluates them.
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Limits that keep hostile formulas from exhausting the stack, memory or
 * time.  Nesting counts only real nesting (parentheses and calls inside a
 * factor; parenthesised right operands and unary operators in the formula):
 * a chain of operators at one level (a + b + c ...) is evaluated in a loop,
 * however long.  Terms and interaction products are counted because
 * (a + b + ...)**n grows exponentially in the text's length. */
#define OOC_MAX_NESTING 200
#define OOC_MAX_TERMS ((size_t)1 << 20)
#define OOC_MAX_TERM_PRODUCTS ((uint64_t)1 << 23)

/* ------------------------------------------------------------------ */
/* Level values                                                       */
/* ------------------------------------------------------------------ */

void ooc_level_list_free(ooc_level_list *l)
{
    if (!l)
        return;
    for (size_t i = 0; i < l->n; i++)
        free(l->items[i].text);
    free(l->items);
    l->items = NULL;
    l->n = 0;
}

bool ooc_level_equal(const ooc_level *a, const ooc_level *b)
{
    bool a_str = a->kind == OOC_LEVEL_STR, b_str = b->kind == OOC_LEVEL_STR;
    if (a_str || b_str)
        return a_str && b_str && strcmp(a->text, b->text) == 0;
    return a->num == b->num;
}

/* Printed form of a level (patsy uses str() for strings, repr() otherwise). */
static char *level_text(ooc_level_kind kind, double v, const char *s, size_t slen)
{
    char buf[64];
    switch (kind) {
    case OOC_LEVEL_STR: {
        char *t = malloc(slen + 1);
        if (t) {
            memcpy(t, s, slen);
            t[slen] = '\0';
        }
        return t;
    }
    case OOC_LEVEL_BOOL: snprintf(buf, sizeof buf, "%s", v != 0 ? "True" : "False"); break;
    case OOC_LEVEL_INT: snprintf(buf, sizeof buf, "%.0f", v); break;
    case OOC_LEVEL_FLOAT: ooc_python_float_repr(v, buf, sizeof buf); break;
    }
    return strdup(buf);
}

static ooc_status level_list_push(ooc_level_list *l, size_t *cap, ooc_level_kind kind, double v,
                                  const char *s, size_t slen, ooc_error *err)
{
    if (l->n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 8;
        ooc_level *bigger = realloc(l->items, ncap * sizeof *bigger);
        if (!bigger)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for levels");
        l->items = bigger;
        *cap = ncap;
    }
    char *text = level_text(kind, v, s, slen);
    if (!text)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for levels");
    l->items[l->n].kind = kind;
    l->items[l->n].num = v;
    l->items[l->n].text = text;
    l->n++;
    return OOC_OK;
}

/* ------------------------------------------------------------------ */
/* Parsing context shared by the Python-expression parsers            */
/* ------------------------------------------------------------------ */

typedef struct exnode {
    ooc_ex_op op;
    int a, b;       /* children, -1 if none */
    double value;   /* constant value when is_const */
    size_t var;
    bool is_const;
} exnode;

typedef struct pyctx {
    ooc_model *m;
    const char *text;     /* text the tokens index into */
    const ooc_tok *toks;
    size_t pos, end;      /* current token, one past the last token */
    const char *formula;  /* for error messages */
    bool anchored;        /* errors point at [anchor, anchor+anchor_len) of formula */
    size_t anchor, anchor_len;
    const char *anchor_what;
    const ooc_formula_var *fvars;
    size_t nfvars;
    ooc_error *err;
    exnode *nodes;
    size_t nnodes, nodes_cap;
    size_t depth;         /* nesting of parse_unary calls */
} pyctx;

static ooc_status py_error(pyctx *c, size_t tok, const char *what)
{
    if (c->anchored)
        return ooc_formula_error(c->err, c->formula, c->anchor, c->anchor_len, "%s: %s",
                                 c->anchor_what, what);
    size_t pos, len;
    if (tok < c->end) {
        pos = c->toks[tok].start;
        len = c->toks[tok].len;
    } else {
        pos = c->end ? c->toks[c->end - 1].start + c->toks[c->end - 1].len : 0;
        len = 1;
    }
    return ooc_formula_error(c->err, c->formula, pos, len, "%s", what);
}

static ooc_status py_unexpected(pyctx *c)
{
    if (c->pos >= c->end)
        return py_error(c, c->pos, "unexpected end of expression");
    char what[96];
    const ooc_tok *t = &c->toks[c->pos];
    snprintf(what, sizeof what, "unexpected token '%.*s'", (int)(t->len > 40 ? 40 : t->len),
             c->text + t->start);
    return py_error(c, c->pos, what);
}

static bool py_at_op(const pyctx *c, const char *op)
{
    return c->pos < c->end && ooc_tok_is(c->text, &c->toks[c->pos], op);
}

static bool py_at_name(const pyctx *c, const char *name)
{
    if (c->pos >= c->end || c->toks[c->pos].type != OOC_TOK_NAME)
        return false;
    size_t n = strlen(name);
    return c->toks[c->pos].len == n && memcmp(c->text + c->toks[c->pos].start, name, n) == 0;
}

static ooc_status py_expect(pyctx *c, const char *op)
{
    if (!py_at_op(c, op))
        return py_unexpected(c);
    c->pos++;
    return OOC_OK;
}

/* Dotted name starting at c->pos (np.log): copies it into buf, advances. */
static bool py_dotted_name(pyctx *c, char *buf, size_t bufsize)
{
    size_t o = 0;
    if (c->pos >= c->end || c->toks[c->pos].type != OOC_TOK_NAME)
        return false;
    for (;;) {
        const ooc_tok *t = &c->toks[c->pos];
        if (o + t->len + 2 > bufsize)
            return false;
        memcpy(buf + o, c->text + t->start, t->len);
        o += t->len;
        c->pos++;
        if (c->pos + 1 < c->end && ooc_tok_is(c->text, &c->toks[c->pos], ".") &&
            c->toks[c->pos + 1].type == OOC_TOK_NAME) {
            buf[o++] = '.';
            c->pos++;
            continue;
        }
        break;
    }
    buf[o] = '\0';
    return true;
}

/* ------------------------------------------------------------------ */
/* Variables and factors                                              */
/* ------------------------------------------------------------------ */

/* The variable named name[0..namelen), added (first used at [origin,
 * origin+origin_len) of the formula) unless known.  Errors: OOC_ERR_NOMEM. */
static ooc_status add_variable(ooc_model *m, const char *name, size_t namelen, size_t origin,
                               size_t origin_len, size_t *index, ooc_error *err)
{
    if (ooc_text_index_find(&m->var_index, name, namelen, index))
        return OOC_OK;
    if (m->nvars == m->vars_cap) {
        size_t ncap = m->vars_cap ? 2 * m->vars_cap : 8;
        ooc_variable *bigger = realloc(m->vars, ncap * sizeof *bigger);
        if (!bigger)
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for formula variables");
        m->vars = bigger;
        m->vars_cap = ncap;
    }
    ooc_variable *v = &m->vars[m->nvars];
    memset(v, 0, sizeof *v);
    v->name = malloc(namelen + 1);
    if (!v->name)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for formula variables");
    memcpy(v->name, name, namelen);
    v->name[namelen] = '\0';
    if (!ooc_text_index_insert(&m->var_index, v->name, namelen, m->nvars)) {
        free(v->name);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for formula variables");
    }
    v->origin = origin;
    v->origin_len = origin_len;
    *index = m->nvars++;
    return OOC_OK;
}

/* Decode a Python string literal token into a malloc'ed string. */
static char *decode_string(const char *s, size_t len)
{
    size_t i = 0;
    bool raw = false;
    while (i < len && s[i] != '\'' && s[i] != '"') {
        if (s[i] == 'r' || s[i] == 'R')
            raw = true;
        i++;
    }
    if (i >= len) /* the lexer only makes string tokens with quotes; stay safe anyway */
        return strdup("");
    char q = s[i];
    size_t qn = (i + 2 < len && s[i + 1] == q && s[i + 2] == q && len - i >= 6) ? 3 : 1;
    size_t from = i + qn, to = len >= qn ? len - qn : 0;
    if (to < from)
        to = from;
    char *out = malloc(to - from + 1);
    if (!out)
        return NULL;
    size_t o = 0;
    for (size_t k = from; k < to; k++) {
        if (s[k] == '\\' && !raw && k + 1 < to) {
            k++;
            switch (s[k]) {
            case 'n': out[o++] = '\n'; break;
            case 't': out[o++] = '\t'; break;
            case 'r': out[o++] = '\r'; break;
            case '0': out[o++] = '\0'; break;
            default: out[o++] = s[k]; break;
            }
        } else {
            out[o++] = s[k];
        }
    }
    out[o] = '\0';
    return out;
}

/* Q('name') at c->pos: returns the column name (malloc'ed) or NULL on error. */
static ooc_status parse_q(pyctx *c, char **name)
{
    ooc_status status;
    c->pos++; /* Q */
    OOC_CHECK(py_expect(c, "("));
    if (c->pos >= c->end || c->toks[c->pos].type != OOC_TOK_STRING) {
        status = py_error(c, c->pos, "Q() needs a quoted column name");
        goto out;
    }
    *name = decode_string(c->text + c->toks[c->pos].start, c->toks[c->pos].len);
    if (!*name) {
        status = OOC_FAIL(c->err, OOC_ERR_NOMEM, "out of memory");
        goto out;
    }
    c->pos++;
    status = py_expect(c, ")");
    if (status != OOC_OK) {
        free(*name);
        *name = NULL;
    }
out:
    return status;
}

/* A variable reference at c->pos (NAME or Q('...')). */
static ooc_status parse_variable_ref(pyctx *c, size_t *var)
{
    size_t start_tok = c->pos;
    if (py_at_name(c, "Q") && c->pos + 1 < c->end && ooc_tok_is(c->text, &c->toks[c->pos + 1], "(")) {
        char *name = NULL;
        ooc_status status = parse_q(c, &name);
        if (status != OOC_OK)
            return status;
        size_t o0 = c->toks[start_tok].start;
        size_t o1 = c->toks[c->pos - 1].start + c->toks[c->pos - 1].len;
        status = add_variable(c->m, name, strlen(name), o0, o1 - o0, var, c->err);
        free(name);
        return status;
    }
    const ooc_tok *t = &c->toks[c->pos];
    c->pos++;
    return add_variable(c->m, c->text + t->start, t->len, t->start, t->len, var, c->err);
}

/* ------------------------------------------------------------------ */
/* Arithmetic expressions: I(...), np.log(...)                        */
/* ------------------------------------------------------------------ */

static int ex_new(pyctx *c, ooc_ex_op op, int a, int b)
{
    if (c->nnodes == c->nodes_cap) {
        size_t ncap = c->nodes_cap ? 2 * c->nodes_cap : 16;
        exnode *bigger = realloc(c->nodes, ncap * sizeof *bigger);
        if (!bigger)
            return -1;
        c->nodes = bigger;
        c->nodes_cap = ncap;
    }
    exnode *n = &c->nodes[c->nnodes];
    memset(n, 0, sizeof *n);
    n->op = op;
    n->a = a;
    n->b = b;
    return (int)c->nnodes++;
}

static ooc_status ex_nomem(pyctx *c) { return OOC_FAIL(c->err, OOC_ERR_NOMEM, "out of memory"); }

/* Fold an operation whose operands are constants, as Python computes it. */
static void ex_fold(exnode *nodes, int i)
{
    exnode *n = &nodes[i];
    bool a_const = n->a >= 0 && nodes[n->a].is_const;
    bool b_const = n->b < 0 || nodes[n->b].is_const;
    if (!a_const || !b_const)
        return;
    double x = nodes[n->a].value, y = n->b >= 0 ? nodes[n->b].value : 0.0;
    switch (n->op) {
    case OOC_EX_NEG: n->value = -x; break;
    case OOC_EX_ADD: n->value = x + y; break;
    case OOC_EX_SUB: n->value = x - y; break;
    case OOC_EX_MUL: n->value = x * y; break;
    case OOC_EX_DIV: n->value = x / y; break;
    case OOC_EX_POW: n->value = pow(x, y); break;
    case OOC_EX_LOG: n->value = log(x); break;
    case OOC_EX_LOG1P: n->value = log1p(x); break;
    case OOC_EX_EXP: n->value = exp(x); break;
    case OOC_EX_SQRT: n->value = sqrt(x); break;
    case OOC_EX_ABS: n->value = fabs(x); break;
    default: return;
    }
    n->is_const = true;
}

/* Append the operation op(a, b) (b = -1 for a unary one), folded when its
 * operands are constants; *out is its node.  Errors: OOC_ERR_NOMEM. */
static ooc_status ex_apply(pyctx *c, ooc_ex_op op, int a, int b, int *out)
{
    int n = ex_new(c, op, a, b);
    if (n < 0)
        return ex_nomem(c);
    ex_fold(c->nodes, n);
    *out = n;
    return OOC_OK;
}

static ooc_status parse_arith(pyctx *c, int *out);

static bool function_op(const char *name, ooc_ex_op *op)
{
    static const struct {
        const char *name;
        ooc_ex_op op;
    } fns[] = {{"log", OOC_EX_LOG},   {"log1p", OOC_EX_LOG1P}, {"exp", OOC_EX_EXP},
               {"sqrt", OOC_EX_SQRT}, {"abs", OOC_EX_ABS},     {"absolute", OOC_EX_ABS}};
    const char *base = name;
    if (strncmp(name, "np.", 3) == 0)
        base = name + 3;
    else if (strncmp(name, "numpy.", 6) == 0)
        base = name + 6;
    for (size_t i = 0; i < sizeof fns / sizeof fns[0]; i++) {
        if (strcmp(base, fns[i].name) == 0) {
            if (base == name && fns[i].op == OOC_EX_ABS && strcmp(name, "abs") != 0)
                return false; /* bare "absolute" is not a Python builtin */
            *op = fns[i].op;
            return true;
        }
    }
    return false;
}

/* Function call at c->pos (callee name already known to be a call). */
static ooc_status parse_call(pyctx *c, int *out)
{
    ooc_status status;
    size_t name_tok = c->pos;
    char name[64];
    if (!py_dotted_name(c, name, sizeof name))
        return py_error(c, name_tok, "name too long");
    ooc_ex_op op = OOC_EX_ABS;
    bool is_identity = strcmp(name, "I") == 0;
    if (!is_identity && !function_op(name, &op)) {
        char what[128];
        snprintf(what, sizeof what, "unknown function '%s'", name);
        return py_error(c, name_tok, what);
    }
    OOC_CHECK(py_expect(c, "("));
    int arg;
    OOC_CHECK(parse_arith(c, &arg));
    OOC_CHECK(py_expect(c, ")"));
    if (is_identity) {
        *out = arg;
    } else {
        OOC_CHECK(ex_apply(c, op, arg, -1, out));
    }
out:
    return status;
}

/* Capacity of number_text's buffer; a longer literal is cut short. */
#define NUMBER_TEXT_CAP 64

/* Copy number token t without its '_' digit separators into buf
 * (NUMBER_TEXT_CAP bytes, NUL-terminated); returns the copied length. */
static size_t number_text(const pyctx *c, const ooc_tok *t, char *buf)
{
    size_t o = 0;
    for (size_t i = 0; i < t->len && o + 1 < NUMBER_TEXT_CAP; i++)
        if (c->text[t->start + i] != '_')
            buf[o++] = c->text[t->start + i];
    buf[o] = '\0';
    return o;
}

static ooc_status parse_atom(pyctx *c, int *out)
{
    if (c->pos >= c->end)
        return py_unexpected(c);
    const ooc_tok *t = &c->toks[c->pos];
    if (t->type == OOC_TOK_NUMBER) {
        char buf[NUMBER_TEXT_CAP];
        size_t o = number_text(c, t, buf);
        char *endp;
        double v = strtod(buf, &endp);
        if (*endp || (o > 1 && buf[0] == '0' && (buf[1] | 0x20) == 'x'))
            return py_error(c, c->pos, "unsupported number literal");
        int n = ex_new(c, OOC_EX_CONST, -1, -1);
        if (n < 0)
            return ex_nomem(c);
        c->nodes[n].value = v;
        c->nodes[n].is_const = true;
        c->pos++;
        *out = n;
        return OOC_OK;
    }
    if (t->type == OOC_TOK_NAME) {
        /* A call if a (dotted) name is followed by '(' */
        size_t k = c->pos + 1;
        while (k + 1 < c->end && ooc_tok_is(c->text, &c->toks[k], ".") &&
               c->toks[k + 1].type == OOC_TOK_NAME)
            k += 2;
        bool is_q = py_at_name(c, "Q");
        if (!is_q && k < c->end && ooc_tok_is(c->text, &c->toks[k], "("))
            return parse_call(c, out);
        if (k != c->pos + 1)
            return py_error(c, c->pos, "attribute access is not supported");
        size_t var;
        ooc_status status = parse_variable_ref(c, &var);
        if (status != OOC_OK)
            return status;
        int n = ex_new(c, OOC_EX_VAR, -1, -1);
        if (n < 0)
            return ex_nomem(c);
        c->nodes[n].var = var;
        *out = n;
        return OOC_OK;
    }
    if (ooc_tok_is(c->text, t, "(")) {
        ooc_status status;
        c->pos++;
        OOC_CHECK(parse_arith(c, out));
        OOC_CHECK(py_expect(c, ")"));
    out:
        return status;
    }
    return py_unexpected(c);
}

static ooc_status parse_unary(pyctx *c, int *out);

static ooc_status parse_power(pyctx *c, int *out)
{
    ooc_status status;
    int base;
    OOC_CHECK(parse_atom(c, &base));
    if (py_at_op(c, "**")) {
        c->pos++;
        int exponent;
        OOC_CHECK(parse_unary(c, &exponent));
        OOC_CHECK(ex_apply(c, OOC_EX_POW, base, exponent, out));
    } else {
        *out = base;
    }
out:
    return status;
}

static ooc_status parse_unary_nested(pyctx *c, int *out);

/* parse_unary with a bound on nesting (parentheses, unary signs, calls). */
static ooc_status parse_unary(pyctx *c, int *out)
{
    if (c->depth >= OOC_MAX_NESTING)
        return py_error(c, c->pos, "expression nested too deeply");
    c->depth++;
    ooc_status status = parse_unary_nested(c, out);
    c->depth--;
    return status;
}

static ooc_status parse_unary_nested(pyctx *c, int *out)
{
    if (py_at_op(c, "-")) {
        c->pos++;
        int arg;
        ooc_status status = parse_unary(c, &arg);
        if (status != OOC_OK)
            return status;
        return ex_apply(c, OOC_EX_NEG, arg, -1, out);
    }
    if (py_at_op(c, "+")) {
        c->pos++;
        return parse_unary(c, out);
    }
    return parse_power(c, out);
}

static ooc_status parse_term(pyctx *c, int *out)
{
    ooc_status status;
    int left;
    OOC_CHECK(parse_unary(c, &left));
    for (;;) {
        ooc_ex_op op;
        if (py_at_op(c, "*"))
            op = OOC_EX_MUL;
        else if (py_at_op(c, "/"))
            op = OOC_EX_DIV;
        else if (py_at_op(c, "//") || py_at_op(c, "%") || py_at_op(c, "@"))
            return py_error(c, c->pos, "unsupported operator");
        else
            break;
        c->pos++;
        int right;
        OOC_CHECK(parse_unary(c, &right));
        OOC_CHECK(ex_apply(c, op, left, right, &left));
    }
    *out = left;
out:
    return status;
}

static ooc_status parse_arith(pyctx *c, int *out)
{
    ooc_status status;
    int left;
    OOC_CHECK(parse_term(c, &left));
    for (;;) {
        ooc_ex_op op;
        if (py_at_op(c, "+"))
            op = OOC_EX_ADD;
        else if (py_at_op(c, "-"))
            op = OOC_EX_SUB;
        else
            break;
        c->pos++;
        int right;
        OOC_CHECK(parse_term(c, &right));
        OOC_CHECK(ex_apply(c, op, left, right, &left));
    }
    *out = left;
out:
    return status;
}

static ooc_status ex_push(pyctx *c, ooc_factor *f, size_t *cap, ooc_ex_op op, size_t var,
                          double value)
{
    if (f->nprog == *cap) {
        size_t ncap = *cap ? 2 * *cap : 8;
        ooc_ex_instr *bigger = realloc(f->prog, ncap * sizeof *bigger);
        if (!bigger)
            return ex_nomem(c);
        f->prog = bigger;
        *cap = ncap;
    }
    f->prog[f->nprog].op = op;
    f->prog[f->nprog].var = var;
    f->prog[f->nprog].value = value;
    f->nprog++;
    return OOC_OK;
}

/* Compile the expression rooted at node `root` into f's postfix program,
 * applying numpy's fast paths for x**const (x**2 -> x*x, x**0.5 -> sqrt,
 * x**-1 -> 1/x, x**1 -> x, x**0 -> 1).  The parser creates each node after
 * its operands, and a subtree's nodes one after another, so the nodes the
 * program needs, in creation order, are already in postfix order: a backward
 * pass marks them and a forward pass emits them, without recursion however
 * long the expression.  Errors: OOC_ERR_NOMEM. */
static ooc_status ex_emit(pyctx *c, ooc_factor *f, int root)
{
    ooc_status status = OOC_OK;
    size_t cap = 0;
    bool *needed = calloc(c->nnodes, sizeof *needed);
    if (!needed)
        return ex_nomem(c);
    needed[root] = true;
    for (int i = root; i >= 0; i--) {
        const exnode *n = &c->nodes[i];
        if (!needed[i] || n->is_const || n->op == OOC_EX_VAR)
            continue;
        bool const_pow = n->op == OOC_EX_POW && c->nodes[n->b].is_const;
        if (!const_pow || c->nodes[n->b].value != 0.0) /* x**0 is the constant 1 */
            needed[n->a] = true;
        if (n->b >= 0 && !const_pow)
            needed[n->b] = true;
    }
    for (int i = 0; i <= root; i++) {
        const exnode *n = &c->nodes[i];
        if (!needed[i])
            continue;
        if (n->is_const) {
            OOC_CHECK(ex_push(c, f, &cap, OOC_EX_CONST, 0, n->value));
        } else if (n->op == OOC_EX_VAR) {
            OOC_CHECK(ex_push(c, f, &cap, OOC_EX_VAR, n->var, 0.0));
        } else if (n->op == OOC_EX_POW && c->nodes[n->b].is_const) {
            double e = c->nodes[n->b].value;
            if (e == 0.0)
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_CONST, 0, 1.0));
            else if (e == 2.0)
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_SQUARE, 0, 0.0));
            else if (e == 0.5)
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_SQRT, 0, 0.0));
            else if (e == -1.0)
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_RECIP, 0, 0.0));
            else if (e != 1.0) {
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_CONST, 0, e));
                OOC_CHECK(ex_push(c, f, &cap, OOC_EX_POW, 0, 0.0));
            }
        } else {
            OOC_CHECK(ex_push(c, f, &cap, n->op, 0, 0.0));
        }
    }
out:
    free(needed);
    return status;
}

/* Largest evaluation stack the program needs. */
static size_t ex_stack_depth(const ooc_factor *f)
{
    size_t depth = 0, max = 0;
    for (size_t i = 0; i < f->nprog; i++) {
        switch (f->prog[i].op) {
        case OOC_EX_CONST:
        case OOC_EX_VAR: depth++; break;
        case OOC_EX_ADD:
        case OOC_EX_SUB:
        case OOC_EX_MUL:
        case OOC_EX_DIV:
        case OOC_EX_POW: depth--; break;
        default: break;
        }
        if (depth > max)
            max = depth;
    }
    return max;
}

/* ------------------------------------------------------------------ */
/* Level lists and contrasts inside C()                               */
/* ------------------------------------------------------------------ */

static bool is_integer_literal(const char *s, size_t len)
{
    size_t digits = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] >= '0' && s[i] <= '9')
            digits++;
        else if (s[i] != '_')
            return false;
    }
    return digits > 0;
}

/* One scalar literal: [+-]number, 'string', True, False. */
static ooc_status parse_level_value(pyctx *c, ooc_level_kind *kind, double *v, char **str)
{
    *str = NULL;
    bool negative = false;
    size_t first = c->pos;
    while (py_at_op(c, "-") || py_at_op(c, "+")) {
        if (py_at_op(c, "-"))
            negative = !negative;
        c->pos++;
    }
    if (c->pos >= c->end)
        return py_unexpected(c);
    const ooc_tok *t = &c->toks[c->pos];
    if (t->type == OOC_TOK_NUMBER) {
        char buf[NUMBER_TEXT_CAP];
        number_text(c, t, buf);
        char *endp;
        double x = strtod(buf, &endp);
        if (*endp)
            return py_error(c, c->pos, "unsupported number literal");
        *kind = is_integer_literal(c->text + t->start, t->len) ? OOC_LEVEL_INT : OOC_LEVEL_FLOAT;
        *v = negative ? -x : x;
        c->pos++;
        return OOC_OK;
    }
    if (c->pos != first)
        return py_unexpected(c);
    if (t->type == OOC_TOK_STRING) {
        *str = decode_string(c->text + t->start, t->len);
        if (!*str)
            return ex_nomem(c);
        *kind = OOC_LEVEL_STR;
        *v = 0;
        c->pos++;
        return OOC_OK;
    }
    if (py_at_name(c, "True") || py_at_name(c, "False")) {
        *kind = OOC_LEVEL_BOOL;
        *v = py_at_name(c, "True") ? 1.0 : 0.0;
        c->pos++;
        return OOC_OK;
    }
    return py_unexpected(c);
}

static ooc_status parse_level_list(pyctx *c, ooc_level_list *out);

/* range(...) or np.arange(...) arguments, after the '('. */
static ooc_status parse_range_args(pyctx *c, bool numpy_arange, ooc_level_list *out, size_t *cap)
{
    ooc_status status = OOC_OK;
    double args[3];
    bool all_int = true;
    size_t nargs = 0, args_tok = c->pos;
    while (!py_at_op(c, ")")) {
        if (nargs == 3)
            return py_unexpected(c);
        ooc_level_kind kind;
        char *str;
        OOC_CHECK(parse_level_value(c, &kind, &args[nargs], &str));
        if (kind == OOC_LEVEL_STR || kind == OOC_LEVEL_BOOL) {
            free(str);
            return py_error(c, args_tok, "range arguments must be numbers");
        }
        if (kind == OOC_LEVEL_FLOAT)
            all_int = false;
        nargs++;
        if (!py_at_op(c, ","))
            break;
        c->pos++;
    }
    OOC_CHECK(py_expect(c, ")"));
    if (nargs == 0 || (!numpy_arange && !all_int))
        return py_error(c, args_tok, "range() needs 1 to 3 integer arguments");
    double start = nargs >= 2 ? args[0] : 0.0, stop = nargs >= 2 ? args[1] : args[0];
    double step = nargs == 3 ? args[2] : 1.0;
    if (step == 0)
        return py_error(c, args_tok, "range() step must not be zero");
    double count = ceil((stop - start) / step);
    if (count > 1e6)
        return py_error(c, args_tok, "too many levels");
    for (double i = 0; i < count; i++) {
        double v = start + i * step;
        OOC_CHECK(level_list_push(out, cap, all_int ? OOC_LEVEL_INT : OOC_LEVEL_FLOAT, v, NULL, 0,
                                  c->err));
        if (numpy_arange) {
            /* numpy scalars print as np.int64(1) / np.float64(1.5) in level names */
            ooc_level *l = &out->items[out->n - 1];
            size_t n = strlen(l->text) + 16;
            char *wrapped = malloc(n);
            if (!wrapped)
                return ex_nomem(c);
            snprintf(wrapped, n, "np.%s(%s)", all_int ? "int64" : "float64", l->text);
            free(l->text);
            l->text = wrapped;
        }
    }
out:
    return status;
}

static ooc_status parse_level_list_into(pyctx *c, ooc_level_list *out, size_t *cap)
{
    ooc_status status = OOC_OK;
    if (py_at_op(c, "[") || py_at_op(c, "(")) {
        const char *close = py_at_op(c, "[") ? "]" : ")";
        c->pos++;
        while (!py_at_op(c, close)) {
            ooc_level_kind kind;
            double v;
            char *str;
            OOC_CHECK(parse_level_value(c, &kind, &v, &str));
            status = level_list_push(out, cap, kind, v, str, str ? strlen(str) : 0, c->err);
            free(str);
            if (status != OOC_OK)
                goto out;
            if (!py_at_op(c, ","))
                break;
            c->pos++;
        }
        OOC_CHECK(py_expect(c, close));
        return OOC_OK;
    }
    if (c->pos < c->end && c->toks[c->pos].type == OOC_TOK_NAME) {
        size_t name_tok = c->pos;
        char name[64];
        if (!py_dotted_name(c, name, sizeof name))
            return py_error(c, name_tok, "name too long");
        if (py_at_op(c, "(")) {
            c->pos++;
            if (strcmp(name, "range") == 0)
                return parse_range_args(c, false, out, cap);
            if (strcmp(name, "np.arange") == 0 || strcmp(name, "numpy.arange") == 0)
                return parse_range_args(c, true, out, cap);
            if (strcmp(name, "list") == 0 || strcmp(name, "tuple") == 0 ||
                strcmp(name, "np.array") == 0 || strcmp(name, "numpy.array") == 0) {
                if (c->depth >= OOC_MAX_NESTING)
                    return py_error(c, name_tok, "expression nested too deeply");
                c->depth++;
                status = parse_level_list_into(c, out, cap);
                c->depth--;
                if (status != OOC_OK)
                    return status;
                return py_expect(c, ")");
            }
            char what[128];
            snprintf(what, sizeof what, "unknown function '%s'", name);
            return py_error(c, name_tok, what);
        }
        /* A formula variable holding a list literal. */
        for (size_t i = 0; i < c->nfvars; i++) {
            if (c->fvars[i].name && strcmp(c->fvars[i].name, name) == 0) {
                const ooc_tok *t = &c->toks[name_tok];
                if (!c->fvars[i].value)
                    return py_error(c, name_tok, "formula variable has no value");
                ooc_level_list sub = {NULL, 0};
                OOC_CHECK(ooc_parse_level_literal(c->fvars[i].value, &sub, c->formula, t->start,
                                                  t->len, c->err));
                for (size_t k = 0; k < sub.n && status == OOC_OK; k++)
                    status = level_list_push(out, cap, sub.items[k].kind, sub.items[k].num,
                                             sub.items[k].text, strlen(sub.items[k].text), c->err);
                ooc_level_list_free(&sub);
                return status;
            }
        }
        char what[256];
        snprintf(what, sizeof what, "unknown formula variable '%s' (define it with --var %s=[...])",
                 name, name);
        return py_error(c, name_tok, what);
    }
    return py_unexpected(c);
out:
    return status;
}

/* Order in which equal levels (ooc_level_equal) are neighbours: strings by
 * text, then numbers and booleans by value. */
static int cmp_level_ptr(const void *a, const void *b)
{
    const ooc_level *x = *(const ooc_level *const *)a, *y = *(const ooc_level *const *)b;
    bool xs = x->kind == OOC_LEVEL_STR, ys = y->kind == OOC_LEVEL_STR;
    if (xs != ys)
        return xs ? -1 : 1;
    if (xs)
        return strcmp(x->text, y->text);
    return (x->num > y->num) - (x->num < y->num);
}

/* *dup: whether two items of `l` are equal (sorting a copy: O(n log n)).
 * Errors: OOC_ERR_NOMEM. */
static ooc_status has_duplicate_level(pyctx *c, const ooc_level_list *l, bool *dup)
{
    const ooc_level **sorted = malloc((l->n ? l->n : 1) * sizeof *sorted);
    if (!sorted)
        return ex_nomem(c);
    for (size_t i = 0; i < l->n; i++)
        sorted[i] = &l->items[i];
    qsort(sorted, l->n, sizeof *sorted, cmp_level_ptr);
    *dup = false;
    for (size_t i = 1; i < l->n && !*dup; i++)
        *dup = ooc_level_equal(sorted[i - 1], sorted[i]);
    free(sorted);
    return OOC_OK;
}

static ooc_status parse_level_list(pyctx *c, ooc_level_list *out)
{
    size_t cap = 0, start_tok = c->pos;
    ooc_status status = parse_level_list_into(c, out, &cap);
    if (status != OOC_OK)
        return status;
    bool dup = false;
    OOC_CHECK(has_duplicate_level(c, out, &dup));
    if (dup)
        return py_error(c, start_tok, "duplicate level in levels list");
    size_t nstr = 0, nbool = 0;
    for (size_t i = 0; i < out->n; i++) {
        nstr += out->items[i].kind == OOC_LEVEL_STR;
        nbool += out->items[i].kind == OOC_LEVEL_BOOL;
    }
    if ((nstr && nstr != out->n) || (nbool && nbool != out->n))
        return py_error(c, start_tok, "levels must be all numbers, all strings or all booleans");
    if (out->n == 0)
        return py_error(c, start_tok, "levels list is empty");
out:
    return status;
}

ooc_status ooc_parse_level_literal(const char *text, ooc_level_list *out, const char *formula,
                                   size_t pos, size_t len, ooc_error *err)
{
    ooc_tok *toks = NULL;
    size_t ntok = 0;
    ooc_error sub;
    ooc_error_clear(&sub);
    ooc_status status = ooc_formula_tokenize(text, &toks, &ntok, &sub);
    if (status != OOC_OK) {
        free(toks);
        if (status == OOC_ERR_NOMEM)
            return OOC_FAIL(err, status, "out of memory");
        return ooc_formula_error(err, formula, pos, len,
                                 "formula variable value is not a list literal");
    }
    pyctx c = {0};
    c.text = text;
    c.toks = toks;
    c.end = ntok;
    c.formula = formula;
    c.anchored = true;
    c.anchor = pos;
    c.anchor_len = len;
    c.anchor_what = "bad formula variable value";
    c.err = err;
    status = parse_level_list(&c, out);
    if (status == OOC_OK && c.pos != c.end)
        status = py_unexpected(&c);
    if (status != OOC_OK)
        ooc_level_list_free(out);
    free(toks);
    return status;
}

/* Treatment / Treatment(ref) / Treatment(reference=ref) / Sum / Sum(omit=v). */
static ooc_status parse_contrast(pyctx *c, ooc_factor *f)
{
    ooc_status status = OOC_OK;
    size_t name_tok = c->pos;
    char name[64];
    if (!py_dotted_name(c, name, sizeof name))
        return py_unexpected(c);
    const char *base = strncmp(name, "patsy.", 6) == 0 ? name + 6 : name;
    const char *keyword;
    if (strcmp(base, "Treatment") == 0) {
        f->contrast = OOC_CONTRAST_TREATMENT;
        keyword = "reference";
    } else if (strcmp(base, "Sum") == 0) {
        f->contrast = OOC_CONTRAST_SUM;
        keyword = "omit";
    } else {
        char what[128];
        snprintf(what, sizeof what, "unsupported contrast '%s' (use Treatment or Sum)", name);
        return py_error(c, name_tok, what);
    }
    if (!py_at_op(c, "("))
        return OOC_OK;
    c->pos++;
    if (!py_at_op(c, ")")) {
        if (c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
            ooc_tok_is(c->text, &c->toks[c->pos + 1], "=")) {
            if (!py_at_name(c, keyword))
                return py_error(c, c->pos, "unknown keyword argument");
            c->pos += 2;
        }
        char *str = NULL;
        OOC_CHECK(parse_level_value(c, &f->ref.kind, &f->ref.num, &str));
        f->ref.text = str ? str : level_text(f->ref.kind, f->ref.num, NULL, 0);
        if (!f->ref.text)
            return ex_nomem(c);
        f->has_ref = true;
    }
    OOC_CHECK(py_expect(c, ")"));
out:
    return status;
}

/* C(var[, contrast][, levels]) after the "C" token. */
static ooc_status parse_categorical(pyctx *c, ooc_factor *f)
{
    ooc_status status;
    c->pos++; /* C */
    OOC_CHECK(py_expect(c, "("));
    bool plain_name = c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
                      (ooc_tok_is(c->text, &c->toks[c->pos + 1], ",") ||
                       ooc_tok_is(c->text, &c->toks[c->pos + 1], ")"));
    bool quoted_name = c->pos + 1 < c->end && py_at_name(c, "Q") &&
                       ooc_tok_is(c->text, &c->toks[c->pos + 1], "(");
    if (!plain_name && !quoted_name) {
        status = py_error(c, c->pos, "C() needs a column name as its first argument");
        goto out;
    }
    OOC_CHECK(parse_variable_ref(c, &f->var));
    f->kind = OOC_FACTOR_CAT;
    f->categorical = true;
    f->contrast = OOC_CONTRAST_TREATMENT;
    bool have_contrast = false;
    size_t positional = 1;
    while (py_at_op(c, ",")) {
        c->pos++;
        if (py_at_op(c, ")"))
            break;
        int which = (int)positional; /* 1: contrast, 2: levels */
        if (c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
            ooc_tok_is(c->text, &c->toks[c->pos + 1], "=")) {
            if (py_at_name(c, "contrast"))
                which = 1;
            else if (py_at_name(c, "levels"))
                which = 2;
            else {
                status = py_error(c, c->pos, "unknown keyword argument of C()");
                goto out;
            }
            c->pos += 2;
            positional = 3;
        } else {
            if (positional > 2) {
                status = py_error(c, c->pos, "too many arguments to C()");
                goto out;
            }
            positional++;
        }
        if (which == 1) {
            if (have_contrast) {
                status = py_error(c, c->pos, "contrast given twice");
                goto out;
            }
            have_contrast = true;
            OOC_CHECK(parse_contrast(c, f));
        } else {
            if (f->has_given_levels) {
                status = py_error(c, c->pos, "levels given twice");
                goto out;
            }
            OOC_CHECK(parse_level_list(c, &f->levels));
            f->has_given_levels = true;
        }
    }
    OOC_CHECK(py_expect(c, ")"));
out:
    return status;
}

/* Turn the Python expression toks[first, first+count) into a factor. */
static ooc_status make_factor(ooc_model *m, const ooc_tok *toks, size_t first, size_t count,
                              const ooc_formula_var *fvars, size_t nfvars, size_t *index,
                              ooc_error *err)
{
    char *code = ooc_formula_untokenize(m->formula, toks + first, count);
    if (!code)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    size_t code_len = strlen(code);
    if (ooc_text_index_find(&m->factor_index, code, code_len, index)) {
        free(code);
        return OOC_OK;
    }
    if (m->nfactors == m->factors_cap) {
        size_t ncap = m->factors_cap ? 2 * m->factors_cap : 8;
        ooc_factor *bigger = realloc(m->factors, ncap * sizeof *bigger);
        if (!bigger) {
            free(code);
            return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
        }
        m->factors = bigger;
        m->factors_cap = ncap;
    }
    if (!ooc_text_index_insert(&m->factor_index, code, code_len, m->nfactors)) {
        free(code);
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory");
    }
    ooc_factor *f = &m->factors[m->nfactors++];
    memset(f, 0, sizeof *f);
    f->code = code;
    f->origin = toks[first].start;
    f->origin_len = toks[first + count - 1].start + toks[first + count - 1].len - f->origin;

    pyctx c = {0};
    c.m = m;
    c.text = m->formula;
    c.toks = toks;
    c.pos = first;
    c.end = first + count;
    c.formula = m->formula;
    c.fvars = fvars;
    c.nfvars = nfvars;
    c.err = err;
    ooc_status status = OOC_OK;
    bool is_call = count >= 2 && toks[first].type == OOC_TOK_NAME &&
                   ooc_tok_is(m->formula, &toks[first + 1], "(");
    if (count == 1 && toks[first].type == OOC_TOK_NAME) {
        f->kind = OOC_FACTOR_VAR;
        OOC_CHECK(parse_variable_ref(&c, &f->var));
    } else if (is_call && py_at_name(&c, "Q")) {
        f->kind = OOC_FACTOR_VAR;
        OOC_CHECK(parse_variable_ref(&c, &f->var));
    } else if (is_call && py_at_name(&c, "C")) {
        OOC_CHECK(parse_categorical(&c, f));
    } else if (toks[first].type == OOC_TOK_NAME) {
        f->kind = OOC_FACTOR_EXPR;
        int root;
        OOC_CHECK(parse_arith(&c, &root));
        if (c.pos == c.end && c.nodes[root].is_const) {
            status = py_error(&c, first, "a factor must depend on the data");
            goto out;
        }
        if (c.pos == c.end) {
            OOC_CHECK(ex_emit(&c, f, root));
            f->stack_depth = ex_stack_depth(f);
        }
    } else {
        status = py_error(&c, first, "unsupported expression");
        goto out;
    }
    if (c.pos != c.end)
        status = py_unexpected(&c);
out:
    free(c.nodes);
    *index = m->nfactors - 1;
    return status;
}

/* ------------------------------------------------------------------ */
/* Term sets                                                          */
/* ------------------------------------------------------------------ */

/* A term while the formula is evaluated: its factors (distinct, in order of
 * appearance), a hash of the set of them, and whether '-' removed it. */
typedef struct pterm {
    size_t *factors;
    size_t nfactors;
    uint64_t hash;
    bool dead;
} pterm;

/* patsy's term lists: unique terms (equal when their factor sets are equal)
 * in order of first appearance.  A hash table over `items` makes adding and
 * removing O(1); a removed term stays in `items`, marked dead, so the order
 * of the others is kept without moving them, and a term added again after
 * its removal is appended anew. */
typedef struct termset {
    pterm *items;
    size_t n, cap;
    size_t live;         /* items not dead */
    size_t *table;       /* 1 + index into items; 0: empty slot */
    size_t table_cap;    /* power of two, or 0 */
    size_t table_used;   /* occupied slots */
} termset;

static void termset_free(termset *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        free(ts->items[i].factors);
    free(ts->items);
    free(ts->table);
    memset(ts, 0, sizeof *ts);
}

/* An order-independent hash of the factor set f[0..n) (distinct factors). */
static uint64_t term_hash(const size_t *f, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull * (n + 1);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = (uint64_t)f[i] + 0x9e3779b97f4a7c15ull; /* splitmix64 of the factor */
        x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
        x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
        h += x ^ (x >> 31);
    }
    return h;
}

/* Whether the distinct factors a[0..na) and b[0..nb) form the same set. */
static bool same_factors(const size_t *a, size_t na, const size_t *b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++) {
        size_t j = 0;
        while (j < nb && b[j] != a[i])
            j++;
        if (j == nb)
            return false;
    }
    return true;
}

/* The live item equal to the factor set f[0..n) with hash h, or SIZE_MAX. */
static size_t termset_find(const termset *ts, const size_t *f, size_t n, uint64_t h)
{
    if (!ts->table_cap)
        return SIZE_MAX;
    size_t mask = ts->table_cap - 1;
    for (size_t i = (size_t)h & mask; ts->table[i]; i = (i + 1) & mask) {
        const pterm *t = &ts->items[ts->table[i] - 1];
        if (!t->dead && t->hash == h && same_factors(t->factors, t->nfactors, f, n))
            return ts->table[i] - 1;
    }
    return SIZE_MAX;
}

/* Put item `index` in the first empty slot of its probe sequence. */
static void termset_place(termset *ts, size_t index)
{
    size_t mask = ts->table_cap - 1;
    size_t i = (size_t)ts->items[index].hash & mask;
    while (ts->table[i])
        i = (i + 1) & mask;
    ts->table[i] = index + 1;
    ts->table_used++;
}

/* Make room for one more item and its slot.  Returns false when out of memory. */
static bool termset_reserve(termset *ts)
{
    if (ts->n == ts->cap) {
        size_t ncap = ts->cap ? 2 * ts->cap : 8;
        pterm *bigger = realloc(ts->items, ncap * sizeof *bigger);
        if (!bigger)
            return false;
        ts->items = bigger;
        ts->cap = ncap;
    }
    if ((ts->table_used + 1) * 2 <= ts->table_cap)
        return true;
    size_t ncap = 16;
    while ((ts->live + 1) * 4 > ncap) /* rebuild over the live items only */
        ncap *= 2;
    size_t *table = calloc(ncap, sizeof *table);
    if (!table)
        return false;
    free(ts->table);
    ts->table = table;
    ts->table_cap = ncap;
    ts->table_used = 0;
    for (size_t i = 0; i < ts->n; i++)
        if (!ts->items[i].dead)
            termset_place(ts, i);
    return true;
}

/* Append the new term f[0..n) (distinct factors, hash h; not in ts), copying f. */
static bool termset_append(termset *ts, const size_t *f, size_t n, uint64_t h)
{
    if (!termset_reserve(ts))
        return false;
    pterm *t = &ts->items[ts->n];
    t->factors = malloc((n ? n : 1) * sizeof *t->factors);
    if (!t->factors)
        return false;
    memcpy(t->factors, f, n * sizeof *f);
    t->nfactors = n;
    t->hash = h;
    t->dead = false;
    termset_place(ts, ts->n);
    ts->n++;
    ts->live++;
    return true;
}

/* Remove the term equal to t from ts, if there. */
static void termset_remove(termset *ts, const pterm *t)
{
    size_t i = termset_find(ts, t->factors, t->nfactors, t->hash);
    if (i != SIZE_MAX) {
        ts->items[i].dead = true;
        ts->live--;
    }
}

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
    termset terms;
} iexpr;

static void iexpr_free(iexpr *e) { termset_free(&e->terms); }

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
static ooc_status term_add(fparser *p, size_t node, termset *ts, const size_t *f, size_t n)
{
    size_t distinct[OOC_MAX_TERM_FACTORS];
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        ooc_status status = add_distinct(p, node, distinct, &k, f[i]);
        if (status != OOC_OK)
            return status;
    }
    uint64_t h = term_hash(distinct, k);
    if (termset_find(ts, distinct, k, h) != SIZE_MAX)
        return OOC_OK;
    if (ts->live >= OOC_MAX_TERMS) {
        char what[64];
        snprintf(what, sizeof what, "more than %zu terms", OOC_MAX_TERMS);
        return node_error(p, node, what);
    }
    if (!termset_append(ts, distinct, k, h))
        return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory");
    return OOC_OK;
}

/* Append the live terms of src to dst (those not there yet). */
static ooc_status term_add_all(fparser *p, size_t node, termset *dst, const termset *src)
{
    for (size_t i = 0; i < src->n; i++) {
        const pterm *t = &src->items[i];
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
                              termset *out)
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
        const pterm *a = &l->terms.items[i];
        for (size_t j = 0; j < r->terms.n && !a->dead; j++) {
            const pterm *b = &r->terms.items[j];
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
static void take_terms(iexpr *acc, termset *ts)
{
    termset_free(&acc->terms);
    acc->terms = *ts;
    memset(ts, 0, sizeof *ts);
    acc->intercept = acc->intercept_removed = false;
}

/* patsy's '**': acc ** (the number under the operator's right operand). */
static ooc_status power(fparser *p, size_t node, iexpr *acc)
{
    const pnode *rn = &p->nodes[p->nodes[node].args[1]];
    iexpr base = {0}, big = {0}, next = {0};
    termset all = {0};
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
    termset_free(&all);
    return status;
}

/* Apply binary operator `node` to acc (its left operand, already evaluated)
 * and its right operand, leaving the result in acc. */
static ooc_status combine(fparser *p, size_t node, iexpr *acc)
{
    const pnode *n = &p->nodes[node];
    const pnode *rn = &p->nodes[n->args[1]];
    iexpr r = {0}, other = {0};
    termset t = {0};
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
                termset_remove(&acc->terms, &r.terms.items[i]);
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
            const pterm *lt = &acc->terms.items[i];
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
    termset_free(&t);
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
        ooc_status status = make_factor(p->m, p->toks, t->tok_first, t->tok_count, p->fvars,
                                        p->nfvars, &f, p->err);
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
static const pterm *first_live(const termset *ts)
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
        pterm *t = &rhs->terms.items[i];
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

/* Forget the factors that no final term uses (and the variables only they
 * read), as patsy never evaluates them: "a*b - a*b + a" reads only a, so a
 * missing b drops no row and an unknown b is no error.  Numbering keeps its
 * order.  Errors: OOC_ERR_NOMEM. */
static ooc_status drop_unused_factors(ooc_model *m, ooc_error *err)
{
    ooc_status status = OOC_OK;
    size_t *fmap = malloc((m->nfactors + 1) * sizeof *fmap);
    size_t *vmap = malloc((m->nvars + 1) * sizeof *vmap);
    OOC_FAIL_IF(!fmap || !vmap, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < m->nfactors; i++)
        fmap[i] = SIZE_MAX;
    for (size_t i = 0; i < m->nvars; i++)
        vmap[i] = SIZE_MAX;
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
            continue;
        }
        fmap[i] = nf;
        if (f->kind != OOC_FACTOR_EXPR)
            vmap[f->var] = 0;
        for (size_t k = 0; k < f->nprog; k++)
            if (f->prog[k].op == OOC_EX_VAR)
                vmap[f->prog[k].var] = 0;
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
    for (size_t i = 0; i < nf; i++) {
        ooc_factor *f = &m->factors[i];
        if (f->kind != OOC_FACTOR_EXPR)
            f->var = vmap[f->var];
        if (f->kind == OOC_FACTOR_CAT && !f->has_given_levels)
            m->vars[f->var].needs_scan = true;
        for (size_t k = 0; k < f->nprog; k++)
            if (f->prog[k].op == OOC_EX_VAR)
                f->prog[k].var = vmap[f->prog[k].var];
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
        if (m->factors[f].kind == OOC_FACTOR_CAT) {
            status = ooc_formula_error(err, m->formula, ln->start, ln->end - ln->start,
                                       "the response cannot be categorical");
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
