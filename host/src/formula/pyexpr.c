/*
 * pyexpr.c — the Python expressions inside a formula: each one becomes a
 * factor (a column name, Q('name'), C(column or boolean expression[,
 * contrast][, levels=...]) with the contrasts Treatment, Sum, Helmert, Diff
 * and Poly, or an expression: arithmetic, comparisons (also == and != of a
 * column of texts with a string literal: a text comparison of the model,
 * evaluated per record by eval.c), & | ^ ~, the numpy
 * functions of ex_functions and the constants np.pi, np.e, np.nan, np.inf,
 * True, False), and level-list literals ([..], (..), range(..),
 * np.arange(..), a formula variable).  Expressions are typed as numpy types
 * them within the supported subset (a boolean result makes a categorical
 * factor, as in patsy; what numpy would compute in another dtype is refused
 * with a caret), folded where constant and compiled to the postfix programs
 * that eval.c runs.  Nesting is bounded by OOC_MAX_NESTING; chains of
 * operators are parsed in loops.
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Parsing context shared by the Python-expression parsers            */
/* ------------------------------------------------------------------ */

typedef struct exnode {
    ooc_ex_op op;
    int arg[3];     /* operands, -1 if none */
    double value;   /* constant value when is_const */
    size_t var;
    bool is_const;
    bool boolean;   /* the value is a boolean (0 or 1), not a number */
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
    ooc_factor *factor;   /* the factor being built (owns the transforms its calls make) */
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

/* What a Python string literal makes: a str, bytes (prefix b), an f-string. */
typedef enum py_string_kind { PY_STR, PY_BYTES, PY_FSTRING } py_string_kind;

/* The value of the n hex digits at s (n <= 8) into *v; false when one is not a hex digit. */
static bool hex_value(const char *s, size_t n, uint32_t *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        int d = ch >= '0' && ch <= '9'   ? ch - '0'
                : ch >= 'a' && ch <= 'f' ? ch - 'a' + 10
                : ch >= 'A' && ch <= 'F' ? ch - 'A' + 10
                                         : -1;
        if (d < 0)
            return false;
        *v = *v << 4 | (uint32_t)d;
    }
    return true;
}

/* Code point cp at out: one byte in bytes, else UTF-8; returns the bytes
 * written (1 to 4). */
static size_t put_code(char *out, uint32_t cp, bool bytes)
{
    if (bytes || cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3F));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* The string literal token `tok` decoded as Python decodes it: prefixes r, u,
 * b, f; escapes \\ \' \" \a \b \f \n \r \t \v, a backslash-newline (nothing),
 * octal \ooo, \xhh and, in a str, \uXXXX and \UXXXXXXXX (as UTF-8); any other
 * backslash is kept, as Python keeps it.  *out is malloc'ed, NUL-terminated,
 * *len bytes long (it may hold NULs); *kind what the prefix makes.  Errors:
 * OOC_ERR_FORMULA with a caret under the token (a truncated \x, \u or \U, a
 * code point that is no text, \N{...}), OOC_ERR_NOMEM. */
static ooc_status decode_string(pyctx *c, size_t tok, char **out, size_t *len,
                                py_string_kind *kind)
{
    const char *s = c->text + c->toks[tok].start;
    size_t n = c->toks[tok].len, i = 0;
    bool raw = false;
    *kind = PY_STR;
    *out = NULL;
    for (; i < n && s[i] != '\'' && s[i] != '"'; i++) {
        char p = (char)(s[i] | 0x20);
        raw |= p == 'r';
        *kind = p == 'b' ? PY_BYTES : p == 'f' ? PY_FSTRING : *kind;
    }
    /* the lexer makes string tokens only of whole literals, quotes at both ends */
    size_t qn = n - i >= 6 && s[i + 1] == s[i] && s[i + 2] == s[i] ? 3 : 1;
    size_t from = i + qn, to = n - i >= 2 * qn ? n - qn : from;
    char *d = malloc(n + 1); /* escapes decode to at most their own length */
    if (!d)
        return OOC_FAIL(c->err, OOC_ERR_NOMEM, "out of memory");
    size_t o = 0;
    for (size_t k = from; k < to; k++) {
        if (s[k] != '\\' || raw || k + 1 == to) {
            d[o++] = s[k];
            continue;
        }
        static const char simple[] = "\\\\''\"\"a\ab\bf\fn\nr\rt\tv\v";
        const char *e = NULL;
        for (size_t j = 0; j < sizeof simple - 1 && !e; j += 2)
            if (simple[j] == s[k + 1])
                e = &simple[j + 1];
        uint32_t cp = 0;
        size_t digits = 0;
        bool hex = s[k + 1] == 'x' || (*kind != PY_BYTES && (s[k + 1] | 0x20) == 'u');
        if (e) {
            d[o++] = *e;
            k++;
        } else if (s[k + 1] == '\n') {
            k++;
        } else if (s[k + 1] >= '0' && s[k + 1] <= '7') {
            while (digits < 3 && k + 1 + digits < to && s[k + 1 + digits] >= '0' &&
                   s[k + 1 + digits] <= '7')
                cp = cp * 8 + (uint32_t)(s[k + 1 + digits++] - '0');
            k += digits;
            o += put_code(d + o, cp, *kind == PY_BYTES);
        } else if (hex) {
            digits = s[k + 1] == 'x' ? 2 : s[k + 1] == 'u' ? 4 : 8;
            if (to - k - 2 < digits || !hex_value(s + k + 2, digits, &cp) || cp > 0x10FFFF ||
                (cp >= 0xD800 && cp <= 0xDFFF)) {
                free(d);
                return py_error(c, tok, "bad escape in a string literal (a \\x, \\u or \\U "
                                        "without its hex digits, or a code point that is no "
                                        "text)");
            }
            k += 1 + digits;
            o += put_code(d + o, cp, *kind == PY_BYTES);
        } else if (s[k + 1] == 'N' && *kind != PY_BYTES) {
            free(d);
            return py_error(c, tok, "\\N{...} escapes are not supported: write the character "
                                    "itself or its \\u escape");
        } else {
            d[o++] = s[k]; /* Python keeps an unknown escape's backslash */
        }
    }
    d[o] = '\0';
    *out = d;
    *len = o;
    return OOC_OK;
}

/* Q('name') at c->pos: the column name (malloc'ed, *len bytes) into *name. */
static ooc_status parse_q(pyctx *c, char **name, size_t *len)
{
    ooc_status status;
    py_string_kind kind;
    c->pos++; /* Q */
    OOC_CHECK(py_expect(c, "("));
    if (c->pos >= c->end || c->toks[c->pos].type != OOC_TOK_STRING) {
        status = py_error(c, c->pos, "Q() needs a quoted column name");
        goto out;
    }
    OOC_CHECK(decode_string(c, c->pos, name, len, &kind));
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
        size_t len = 0;
        ooc_status status = parse_q(c, &name, &len);
        if (status != OOC_OK)
            return status;
        size_t o0 = c->toks[start_tok].start;
        size_t o1 = c->toks[c->pos - 1].start + c->toks[c->pos - 1].len;
        status = add_variable(c->m, name, len, o0, o1 - o0, var, c->err);
        free(name);
        return status;
    }
    const ooc_tok *t = &c->toks[c->pos];
    c->pos++;
    return add_variable(c->m, c->text + t->start, t->len, t->start, t->len, var, c->err);
}

/* ------------------------------------------------------------------ */
/* Expressions: I(...), np.log(...), comparisons, & | ~               */
/* ------------------------------------------------------------------ */

/* The node of op(a, b, cc) (-1: no such operand). */
static int ex_new(pyctx *c, ooc_ex_op op, int a, int b, int cc)
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
    n->arg[0] = a;
    n->arg[1] = b;
    n->arg[2] = cc;
    return (int)c->nnodes++;
}

static ooc_status ex_nomem(pyctx *c) { return OOC_FAIL(c->err, OOC_ERR_NOMEM, "out of memory"); }

/* A constant node of value v (boolean: True/False). */
static ooc_status ex_const(pyctx *c, double v, bool boolean, int *out)
{
    int n = ex_new(c, OOC_EX_CONST, -1, -1, -1);
    if (n < 0)
        return ex_nomem(c);
    c->nodes[n].value = v;
    c->nodes[n].is_const = true;
    c->nodes[n].boolean = boolean;
    *out = n;
    return OOC_OK;
}

/* The type of op's result from its operands' (numpy's rules, within the
 * supported subset: a boolean mixed with a number counts as 0 or 1), or an
 * error with a caret under token `tok` for what numpy refuses or computes in
 * another type (boolean arithmetic is logic, np.log of a boolean float16). */
static ooc_status ex_type(pyctx *c, ooc_ex_op op, const int *arg, size_t tok, bool *boolean)
{
    int k = ooc_ex_arity(op);
    bool b0 = c->nodes[arg[0]].boolean, b1 = k > 1 && c->nodes[arg[1]].boolean;
    bool b2 = k > 2 && c->nodes[arg[2]].boolean;
    *boolean = false;
    switch (op) {
    case OOC_EX_ADD: case OOC_EX_SUB: case OOC_EX_MUL: case OOC_EX_DIV: case OOC_EX_POW:
        if (b0 && b1)
            return py_error(c, tok, "arithmetic between two booleans is not supported (numpy "
                                    "makes it logic or refuses it): use &, |, ~ or multiply one "
                                    "side by 1.0");
        return OOC_OK;
    case OOC_EX_LT: case OOC_EX_LE: case OOC_EX_GT: case OOC_EX_GE: case OOC_EX_EQ:
    case OOC_EX_NE:
        *boolean = true;
        return OOC_OK;
    case OOC_EX_AND: case OOC_EX_OR: case OOC_EX_XOR: case OOC_EX_NOT:
        if (!b0 || (k > 1 && !b1))
            return py_error(c, tok, "'&', '|', '^' and '~' need booleans (comparisons, each in "
                                    "parentheses: (a > 0) & (b < 1))");
        *boolean = true;
        return OOC_OK;
    case OOC_EX_WHERE:
        *boolean = b1 && b2;
        return OOC_OK;
    case OOC_EX_NEG:
        if (b0)
            return py_error(c, tok, "unary minus of a boolean is not supported (numpy refuses "
                                    "it): use ~ for not");
        return OOC_OK;
    default:
        if (b0 || b1 || b2)
            return py_error(c, tok, "this function needs numbers, not booleans (numpy would "
                                    "compute it in another type)");
        return OOC_OK;
    }
}

/* Append op(arg[0..arity)), typed (ex_type, errors under token `tok`) and
 * folded when its operands are constants; *out is its node.  Errors:
 * OOC_ERR_FORMULA, OOC_ERR_NOMEM. */
static ooc_status ex_apply(pyctx *c, ooc_ex_op op, const int *arg, size_t tok, int *out)
{
    bool boolean;
    ooc_status status = ex_type(c, op, arg, tok, &boolean);
    if (status != OOC_OK)
        return status;
    int k = ooc_ex_arity(op);
    int n = ex_new(c, op, arg[0], k > 1 ? arg[1] : -1, k > 2 ? arg[2] : -1);
    if (n < 0)
        return ex_nomem(c);
    exnode *node = &c->nodes[n];
    node->boolean = boolean;
    bool all_const = true;
    double v[3] = {0, 0, 0};
    for (int i = 0; i < k; i++) {
        all_const = all_const && c->nodes[arg[i]].is_const;
        v[i] = c->nodes[arg[i]].value;
    }
    if (all_const) {
        node->value = ooc_ex_eval(op, v[0], v[1], v[2]);
        node->is_const = true;
    }
    *out = n;
    return OOC_OK;
}

/* ex_apply of a unary or binary operation. */
static ooc_status ex_apply2(pyctx *c, ooc_ex_op op, int a, int b, size_t tok, int *out)
{
    int arg[2] = {a, b};
    return ex_apply(c, op, arg, tok, out);
}

static ooc_status parse_test(pyctx *c, int *out);
static ooc_status parse_level_list_into(pyctx *c, ooc_level_list *out, size_t *cap);

/* A function a factor may call: its name after np./numpy., its operation,
 * its arguments, and whether it may be called without the np. prefix. */
typedef struct ex_function {
    const char *name;
    ooc_ex_op op;
    int nargs;
    bool bare;
} ex_function;

static const ex_function ex_functions[] = {
    {"log", OOC_EX_LOG, 1, true},         {"log1p", OOC_EX_LOG1P, 1, true},
    {"exp", OOC_EX_EXP, 1, true},         {"sqrt", OOC_EX_SQRT, 1, true},
    {"abs", OOC_EX_ABS, 1, true},         {"absolute", OOC_EX_ABS, 1, false},
    {"log10", OOC_EX_LOG10, 1, false},    {"log2", OOC_EX_LOG2, 1, false},
    {"expm1", OOC_EX_EXPM1, 1, false},    {"sin", OOC_EX_SIN, 1, false},
    {"cos", OOC_EX_COS, 1, false},        {"floor", OOC_EX_FLOOR, 1, false},
    {"ceil", OOC_EX_CEIL, 1, false},      {"square", OOC_EX_SQUARE, 1, false},
    {"power", OOC_EX_POW, 2, false},      {"minimum", OOC_EX_MIN, 2, false},
    {"maximum", OOC_EX_MAX, 2, false},    {"clip", OOC_EX_CLIP, 3, false},
    {"where", OOC_EX_WHERE, 3, false},    {"logical_and", OOC_EX_AND, 2, false},
    {"logical_or", OOC_EX_OR, 2, false},  {"logical_xor", OOC_EX_XOR, 2, false},
    {"logical_not", OOC_EX_NOT, 1, false}};

/* The function called `name` (dotted), or NULL.  "abs" is Python's builtin;
 * the others bare are accepted where patsy finds them in its environment. */
static const ex_function *find_function(const char *name)
{
    const char *base = name;
    if (strncmp(name, "np.", 3) == 0)
        base = name + 3;
    else if (strncmp(name, "numpy.", 6) == 0)
        base = name + 6;
    for (size_t i = 0; i < sizeof ex_functions / sizeof ex_functions[0]; i++)
        if (strcmp(base, ex_functions[i].name) == 0 && (base != name || ex_functions[i].bare))
            return &ex_functions[i];
    return NULL;
}

/* An error when a call's argument at c->pos is a keyword argument (NAME=). */
static ooc_status no_keyword_argument(pyctx *c)
{
    if (c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
        ooc_tok_is(c->text, &c->toks[c->pos + 1], "="))
        return py_error(c, c->pos, "keyword arguments are not supported");
    return OOC_OK;
}

/* np.clip's bound at c->pos: a constant number, or None (*none). */
static ooc_status parse_clip_bound(pyctx *c, int *out, bool *none)
{
    ooc_status status = no_keyword_argument(c);
    if (status != OOC_OK)
        return status;
    *none = py_at_name(c, "None");
    if (*none) {
        c->pos++;
        return OOC_OK;
    }
    size_t tok = c->pos;
    status = parse_test(c, out);
    if (status == OOC_OK && (!c->nodes[*out].is_const || c->nodes[*out].boolean))
        status = py_error(c, tok, "np.clip's bounds must be numbers or None");
    return status;
}

/* np.clip(x, lo, hi) after its '(' (name at token `name_tok`): CLIP with a
 * None bound as -inf / +inf, which numpy's clip takes it for.  Bounds are
 * constants with lo <= hi: numpy's result for lo > hi depends on its SIMD
 * path.  Errors: OOC_ERR_FORMULA, OOC_ERR_NOMEM. */
static ooc_status parse_clip(pyctx *c, size_t name_tok, int x, int *out)
{
    ooc_status status;
    int arg[3] = {x, -1, -1};
    bool none[2];
    for (int i = 0; i < 2; i++) {
        if (!py_at_op(c, ","))
            return py_error(c, name_tok, "np.clip takes 3 arguments (x, a_min, a_max)");
        c->pos++;
        OOC_CHECK(parse_clip_bound(c, &arg[i + 1], &none[i]));
        if (none[i])
            OOC_CHECK(ex_const(c, i ? INFINITY : -INFINITY, false, &arg[i + 1]));
    }
    if (none[0] && none[1])
        return py_error(c, name_tok, "np.clip needs a_min or a_max");
    if (c->nodes[arg[1]].value > c->nodes[arg[2]].value)
        return py_error(c, name_tok, "np.clip with a_min > a_max is not supported");
    OOC_CHECK(py_expect(c, ")"));
    OOC_CHECK(ex_apply(c, OOC_EX_CLIP, arg, name_tok, out));
out:
    return status;
}

/* ---- stateful transforms: center(), standardize(), scale(), bs(), cr(), cc() ---- */

/* The stateful transform called `name`, as patsy's builtins name them. */
static bool transform_name(const char *name, ooc_transform_kind *kind)
{
    static const struct {
        const char *name;
        ooc_transform_kind kind;
    } names[] = {{"center", OOC_TF_CENTER}, {"standardize", OOC_TF_STANDARDIZE},
                 {"scale", OOC_TF_STANDARDIZE}, {"bs", OOC_TF_BS}, {"cr", OOC_TF_CR},
                 {"cc", OOC_TF_CC}};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(name, names[i].name) == 0) {
            *kind = names[i].kind;
            return true;
        }
    return false;
}

/* The parameters after x of each transform, in patsy's positional order. */
static const char *const *transform_params(ooc_transform_kind kind)
{
    static const char *const none[] = {NULL};
    static const char *const standardize[] = {"center", "rescale", "ddof", NULL};
    static const char *const bs[] = {"df", "knots", "degree", "include_intercept",
                                     "lower_bound", "upper_bound", NULL};
    static const char *const crs[] = {"df", "knots", "lower_bound", "upper_bound",
                                      "constraints", NULL};
    switch (kind) {
    case OOC_TF_STANDARDIZE: return standardize;
    case OOC_TF_BS: return bs;
    case OOC_TF_CR:
    case OOC_TF_CC: return crs;
    default: return none;
    }
}

/* A constant number (or boolean) argument at c->pos into *v. */
static ooc_status parse_constant_argument(pyctx *c, const char *param, double *v)
{
    size_t tok = c->pos;
    int node;
    ooc_status status = parse_test(c, &node);
    if (status != OOC_OK)
        return status;
    if (!c->nodes[node].is_const) {
        char what[96];
        snprintf(what, sizeof what, "%s must be a constant", param);
        return py_error(c, tok, what);
    }
    *v = c->nodes[node].value;
    return OOC_OK;
}

/* A constant integer argument (df, degree) into *v. */
static ooc_status parse_integer_argument(pyctx *c, const char *param, long *v)
{
    size_t tok = c->pos;
    double x = 0;
    ooc_status status = parse_constant_argument(c, param, &x);
    if (status != OOC_OK)
        return status;
    if (!(x == floor(x) && fabs(x) < 1e9)) {
        char what[96];
        snprintf(what, sizeof what, "%s must be an integer", param);
        return py_error(c, tok, what);
    }
    *v = (long)x;
    return OOC_OK;
}

/* knots=[...] (a list literal or a formula variable), numbers only. */
static ooc_status parse_knots_argument(pyctx *c, ooc_transform *t)
{
    ooc_status status;
    size_t tok = c->pos, cap = 0;
    ooc_level_list l = {0};
    OOC_CHECK(parse_level_list_into(c, &l, &cap));
    t->knots = malloc((l.n + 1) * sizeof *t->knots);
    OOC_FAIL_IF(!t->knots, c->err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < l.n; i++) {
        if (l.items[i].kind != OOC_LEVEL_INT && l.items[i].kind != OOC_LEVEL_FLOAT) {
            status = py_error(c, tok, "knots must be numbers");
            goto out;
        }
        t->knots[i] = l.items[i].num;
    }
    t->nknots = l.n;
    t->has_knots = true;
out:
    ooc_level_list_free(&l);
    return status;
}

/* The value of parameter `param` of t at c->pos. */
static ooc_status parse_transform_argument(pyctx *c, ooc_transform *t, const char *param)
{
    double v = 0;
    if (py_at_name(c, "None") && (strcmp(param, "df") == 0 || strcmp(param, "knots") == 0 ||
                                  strcmp(param, "lower_bound") == 0 ||
                                  strcmp(param, "upper_bound") == 0 ||
                                  strcmp(param, "constraints") == 0)) {
        c->pos++;
        return OOC_OK;
    }
    if (strcmp(param, "df") == 0 || strcmp(param, "degree") == 0) {
        long n = 0;
        ooc_status status = parse_integer_argument(c, param, &n);
        if (status != OOC_OK)
            return status;
        if (param[1] == 'f' && n < 1)
            return py_error(c, c->pos - 1, "df must be at least 1");
        *(param[1] == 'f' ? &t->df : &t->degree) = n;
        return OOC_OK;
    }
    if (strcmp(param, "knots") == 0)
        return parse_knots_argument(c, t);
    if (strcmp(param, "constraints") == 0) {
        if (c->pos < c->end && c->toks[c->pos].type == OOC_TOK_STRING) {
            char *text;
            size_t len;
            py_string_kind kind;
            ooc_status status = decode_string(c, c->pos, &text, &len, &kind);
            if (status != OOC_OK)
                return status;
            bool center = kind != PY_BYTES && len == 6 && memcmp(text, "center", 6) == 0;
            free(text);
            if (center) {
                c->pos++;
                t->constrain_center = true;
                return OOC_OK;
            }
        }
        return py_error(c, c->pos, "only constraints='center' is supported (a constraint "
                                   "matrix is not)");
    }
    ooc_status status = parse_constant_argument(c, param, &v);
    if (status != OOC_OK)
        return status;
    if (strcmp(param, "center") == 0)
        t->center = v != 0;
    else if (strcmp(param, "rescale") == 0)
        t->rescale = v != 0;
    else if (strcmp(param, "include_intercept") == 0)
        t->include_intercept = v != 0;
    else if (strcmp(param, "ddof") == 0)
        t->ddof = v;
    else if (strcmp(param, "lower_bound") == 0) {
        t->has_lower = true;
        t->lower = v;
    } else {
        t->has_upper = true;
        t->upper = v;
    }
    return OOC_OK;
}

/* The arguments after x of transform t, up to and including ')', each
 * positional (in patsy's order) or NAME=value, each given once. */
static ooc_status parse_transform_arguments(pyctx *c, ooc_transform *t)
{
    const char *const *params = transform_params(t->kind);
    bool given[8] = {false}, keyword = false;
    size_t positional = 0, nparams = 0;
    while (params[nparams])
        nparams++;
    while (py_at_op(c, ",")) {
        c->pos++;
        if (py_at_op(c, ")"))
            break;
        size_t which, tok = c->pos;
        if (c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
            ooc_tok_is(c->text, &c->toks[c->pos + 1], "=")) {
            for (which = 0; which < nparams; which++)
                if (py_at_name(c, params[which]))
                    break;
            if (which == nparams)
                return py_error(c, tok, "unknown keyword argument");
            c->pos += 2;
            keyword = true;
        } else {
            if (keyword)
                return py_error(c, tok, "positional argument after a keyword argument");
            if (positional >= nparams)
                return py_error(c, tok, "too many arguments");
            which = positional++;
        }
        if (given[which])
            return py_error(c, tok, "argument given twice");
        given[which] = true;
        ooc_status status = parse_transform_argument(c, t, params[which]);
        if (status != OOC_OK)
            return status;
    }
    return py_expect(c, ")");
}

/* Parse the call whose name is at token name_tok and whose '(' was just
 * consumed: x (any numeric expression without a transform in it: *arg),
 * then the arguments into a new transform of kind `kind` appended to the
 * factor's (*index).  Errors: OOC_ERR_FORMULA, OOC_ERR_NOMEM. */
static ooc_status parse_transform_call(pyctx *c, size_t name_tok, ooc_transform_kind kind,
                                       int *arg, size_t *index)
{
    ooc_status status;
    ooc_transform t = {0};
    t.kind = kind;
    t.center = t.rescale = true;
    t.degree = 3;
    size_t first_node = c->nnodes, arg_tok = c->pos;
    OOC_CHECK(no_keyword_argument(c));
    OOC_CHECK(parse_test(c, arg));
    for (size_t i = first_node; i < c->nnodes; i++)
        if (c->nodes[i].op == OOC_EX_TRANSFORM) {
            status = py_error(c, arg_tok, "a stateful transform inside another one's argument "
                                          "is not supported");
            goto out;
        }
    if (c->nodes[*arg].boolean) {
        status = py_error(c, arg_tok, "a stateful transform needs numbers, not booleans");
        goto out;
    }
    OOC_CHECK(parse_transform_arguments(c, &t));
    t.code = ooc_formula_untokenize(c->text, c->toks + name_tok, c->pos - name_tok);
    OOC_FAIL_IF(!t.code, c->err, OOC_ERR_NOMEM, "out of memory");
    t.origin = c->toks[name_tok].start;
    t.origin_len = c->toks[c->pos - 1].start + c->toks[c->pos - 1].len - t.origin;
    OOC_CHECK(ooc_transform_check(&t, c->formula, c->err));
    ooc_factor *f = c->factor;
    ooc_transform *bigger = realloc(f->tf, (f->ntf + 1) * sizeof *bigger);
    OOC_FAIL_IF(!bigger, c->err, OOC_ERR_NOMEM, "out of memory");
    f->tf = bigger;
    *index = f->ntf;
    f->tf[f->ntf++] = t;
    return OOC_OK;
out:
    ooc_transform_free(&t);
    return status;
}

/* Whether token t names bs, cr or cc (*kind). */
static bool spline_name(const char *text, const ooc_tok *t, ooc_transform_kind *kind)
{
    char name[16];
    memcpy(name, text + t->start, t->len);
    name[t->len] = '\0';
    return transform_name(name, kind) && *kind >= OOC_TF_BS;
}

/* center(x), standardize(x, ...), scale(x, ...) inside an expression: the
 * node applying the new transform to x. */
static ooc_status parse_value_transform(pyctx *c, size_t name_tok, ooc_transform_kind kind,
                                        int *out)
{
    ooc_status status;
    int arg;
    size_t index;
    OOC_CHECK(py_expect(c, "("));
    OOC_CHECK(parse_transform_call(c, name_tok, kind, &arg, &index));
    int n = ex_new(c, OOC_EX_TRANSFORM, arg, -1, -1);
    if (n < 0)
        return ex_nomem(c);
    c->nodes[n].var = index;
    *out = n;
out:
    return status;
}

/* Function call at c->pos (callee name already known to be a call). */
static ooc_status parse_call(pyctx *c, int *out)
{
    ooc_status status;
    size_t name_tok = c->pos;
    char name[64];
    if (!py_dotted_name(c, name, sizeof name))
        return py_error(c, name_tok, "name too long");
    bool is_identity = strcmp(name, "I") == 0;
    ooc_transform_kind tf_kind;
    if (strcmp(name, "te") == 0)
        return py_error(c, name_tok, "te() tensor-product smooths are not supported: use cr() "
                                     "or cc() terms and their interactions");
    if (transform_name(name, &tf_kind)) {
        if (tf_kind >= OOC_TF_BS)
            return py_error(c, name_tok, "a spline gives several columns: use it as a whole "
                                         "factor (bs(x, df=4), bs(x, df=4):g), not inside an "
                                         "expression");
        return parse_value_transform(c, name_tok, tf_kind, out);
    }
    const ex_function *fn = is_identity ? NULL : find_function(name);
    if (!is_identity && !fn) {
        char what[256], dotted[80];
        snprintf(dotted, sizeof dotted, "np.%s", name);
        bool numpy_has_it = !strchr(name, '.') && find_function(dotted);
        snprintf(what, sizeof what, "unknown function '%s'%s%s%s", name,
                 numpy_has_it ? " (did you mean np." : "", numpy_has_it ? name : "",
                 numpy_has_it ? "?)" : "");
        return py_error(c, name_tok, what);
    }
    OOC_CHECK(py_expect(c, "("));
    int nargs = fn ? fn->nargs : 1;
    int arg[3] = {-1, -1, -1};
    for (int i = 0; i < nargs; i++) {
        if (i > 0 && !py_at_op(c, ","))
            break;
        if (i > 0)
            c->pos++;
        OOC_CHECK(no_keyword_argument(c));
        OOC_CHECK(parse_test(c, &arg[i]));
        if (fn && fn->op == OOC_EX_CLIP)
            return parse_clip(c, name_tok, arg[0], out);
    }
    if (py_at_op(c, ",") || arg[nargs - 1] < 0) {
        char what[96];
        snprintf(what, sizeof what, "%s() takes %d argument%s", name, nargs,
                 nargs == 1 ? "" : "s");
        return py_error(c, name_tok, what);
    }
    OOC_CHECK(py_expect(c, ")"));
    if (is_identity)
        *out = arg[0];
    else
        OOC_CHECK(ex_apply(c, fn->op, arg, name_tok, out));
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

/* Python keywords an expression may not use here, each with a hint. */
static const char *keyword_hint(const pyctx *c)
{
    static const struct {
        const char *word, *hint;
    } words[] = {
        {"and", "use & between parenthesised comparisons: (a > 0) & (b < 1)"},
        {"or", "use | between parenthesised comparisons: (a > 0) | (b < 1)"},
        {"not", "use ~ on a parenthesised comparison: ~(a > 0)"},
        {"in", "membership tests are not supported"},
        {"is", "use == or !="},
        {"if", "use np.where(condition, a, b)"},
        {"lambda", "lambdas are not supported"}};
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        if (py_at_name(c, words[i].word))
            return words[i].hint;
    return NULL;
}

/* A keyword at c->pos (keyword_hint) as an error; OOC_OK when there is none. */
static ooc_status check_keyword(pyctx *c)
{
    const char *hint = keyword_hint(c);
    if (!hint)
        return OOC_OK;
    char what[160];
    const ooc_tok *t = &c->toks[c->pos];
    snprintf(what, sizeof what, "Python's '%.*s' is not supported in a formula: %s",
             (int)t->len, c->text + t->start, hint);
    return py_error(c, c->pos, what);
}

/* Constants a formula may name: np.pi, np.e, np.nan, np.inf, True, False. */
static bool named_constant(const char *name, double *v, bool *boolean)
{
    static const struct {
        const char *name;
        double value;
    } consts[] = {{"pi", 3.141592653589793}, {"e", 2.718281828459045}, {"nan", NAN},
                  {"inf", INFINITY}};
    *boolean = strcmp(name, "True") == 0 || strcmp(name, "False") == 0;
    if (*boolean) {
        *v = name[0] == 'T';
        return true;
    }
    const char *base = strncmp(name, "np.", 3) == 0      ? name + 3
                       : strncmp(name, "numpy.", 6) == 0 ? name + 6
                                                         : NULL;
    for (size_t i = 0; base && i < sizeof consts / sizeof consts[0]; i++) {
        if (strcmp(base, consts[i].name) == 0) {
            *v = consts[i].value;
            return true;
        }
    }
    return false;
}

/* The error about the string literal at token `tok` where it is not a
 * level, a contrast's argument or a side of == / !=. */
static ooc_status string_misplaced(pyctx *c, size_t tok)
{
    return py_error(c, tok, "a string is supported only as a level or contrast argument of C() "
                            "or compared with a column of texts (g == 'a', g != 'a')");
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
        c->pos++;
        return ex_const(c, v, false, out);
    }
    if (t->type == OOC_TOK_NAME) {
        ooc_status kw = check_keyword(c);
        if (kw != OOC_OK)
            return kw;
        /* A call if a (dotted) name is followed by '(' */
        size_t k = c->pos + 1;
        while (k + 1 < c->end && ooc_tok_is(c->text, &c->toks[k], ".") &&
               c->toks[k + 1].type == OOC_TOK_NAME)
            k += 2;
        bool is_q = py_at_name(c, "Q");
        if (!is_q && k < c->end && ooc_tok_is(c->text, &c->toks[k], "("))
            return parse_call(c, out);
        size_t name_tok = c->pos;
        char name[64];
        double v;
        bool boolean;
        if (py_dotted_name(c, name, sizeof name) && named_constant(name, &v, &boolean))
            return ex_const(c, v, boolean, out);
        c->pos = name_tok;
        if (k != c->pos + 1)
            return py_error(c, c->pos, "attribute access is not supported");
        size_t var;
        ooc_status status = parse_variable_ref(c, &var);
        if (status != OOC_OK)
            return status;
        int n = ex_new(c, OOC_EX_VAR, -1, -1, -1);
        if (n < 0)
            return ex_nomem(c);
        c->nodes[n].var = var;
        *out = n;
        return OOC_OK;
    }
    if (t->type == OOC_TOK_STRING)
        return string_misplaced(c, c->pos);
    if (ooc_tok_is(c->text, t, "(")) {
        ooc_status status;
        c->pos++;
        OOC_CHECK(parse_test(c, out));
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
        size_t tok = c->pos++;
        int exponent;
        OOC_CHECK(parse_unary(c, &exponent));
        OOC_CHECK(ex_apply2(c, OOC_EX_POW, base, exponent, tok, out));
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
    bool minus = py_at_op(c, "-"), invert = py_at_op(c, "~");
    if (minus || invert) {
        size_t tok = c->pos++;
        int arg;
        ooc_status status = parse_unary(c, &arg);
        if (status != OOC_OK)
            return status;
        return ex_apply2(c, minus ? OOC_EX_NEG : OOC_EX_NOT, arg, -1, tok, out);
    }
    if (py_at_op(c, "+")) {
        c->pos++;
        return parse_unary(c, out);
    }
    return parse_power(c, out);
}

/* A binary operator of Python's: its token and operation, or a Python
 * operator that is refused (supported false; op unused). */
typedef struct binop {
    const char *token;
    ooc_ex_op op;
    bool supported;
} binop;

/* One level of left-associative binary operators: operands from `next`,
 * operators from ops[0..nops). */

static ooc_status parse_binary_level(pyctx *c, int *out, ooc_status (*next)(pyctx *, int *),
                                     const binop *ops, size_t nops)
{
    ooc_status status;
    int left = -1;
    OOC_CHECK(next(c, &left));
    for (;;) {
        const binop *found = NULL;
        for (size_t i = 0; i < nops && !found; i++)
            if (py_at_op(c, ops[i].token))
                found = &ops[i];
        if (!found)
            break;
        if (!found->supported)
            return py_error(c, c->pos, "unsupported operator");
        size_t tok = c->pos++;
        int right = -1;
        OOC_CHECK(next(c, &right));
        OOC_CHECK(ex_apply2(c, found->op, left, right, tok, &left));
    }
    *out = left;
out:
    return status;
}

static ooc_status parse_term(pyctx *c, int *out)
{
    static const binop ops[] = {{"*", OOC_EX_MUL, true}, {"/", OOC_EX_DIV, true},
                                {"//", OOC_EX_DIV, false}, {"%", OOC_EX_DIV, false},
                                {"@", OOC_EX_DIV, false}};
    return parse_binary_level(c, out, parse_unary, ops, sizeof ops / sizeof ops[0]);
}

static ooc_status parse_arith(pyctx *c, int *out)
{
    static const binop ops[] = {{"+", OOC_EX_ADD, true}, {"-", OOC_EX_SUB, true}};
    return parse_binary_level(c, out, parse_term, ops, sizeof ops / sizeof ops[0]);
}

static ooc_status parse_shift(pyctx *c, int *out)
{
    static const binop ops[] = {{"<<", OOC_EX_AND, false}, {">>", OOC_EX_AND, false}};
    return parse_binary_level(c, out, parse_arith, ops, sizeof ops / sizeof ops[0]);
}

static ooc_status parse_bitand(pyctx *c, int *out)
{
    static const binop ops[] = {{"&", OOC_EX_AND, true}};
    return parse_binary_level(c, out, parse_shift, ops, 1);
}

static ooc_status parse_bitxor(pyctx *c, int *out)
{
    static const binop ops[] = {{"^", OOC_EX_XOR, true}};
    return parse_binary_level(c, out, parse_bitand, ops, 1);
}

static ooc_status parse_bitor(pyctx *c, int *out)
{
    static const binop ops[] = {{"|", OOC_EX_OR, true}};
    return parse_binary_level(c, out, parse_bitxor, ops, 1);
}

/* The comparison operator at c->pos, if any. */
static bool at_comparison(const pyctx *c, ooc_ex_op *op)
{
    static const binop ops[] = {{"<", OOC_EX_LT, true},  {"<=", OOC_EX_LE, true},
                                {">", OOC_EX_GT, true},  {">=", OOC_EX_GE, true},
                                {"==", OOC_EX_EQ, true}, {"!=", OOC_EX_NE, true}};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        if (py_at_op(c, ops[i].token)) {
            *op = ops[i].op;
            return true;
        }
    }
    return false;
}

/* A comparison's operand at c->pos: a string literal (its token into *str,
 * consumed) or a bitwise-or expression (its node into *node). */
static ooc_status parse_comparand(pyctx *c, int *node, size_t *str)
{
    *str = SIZE_MAX;
    if (c->pos < c->end && c->toks[c->pos].type == OOC_TOK_STRING) {
        *str = c->pos++;
        return OOC_OK;
    }
    return parse_bitor(c, node);
}

/* The comparison `op` (token `tok`) of a string literal (token lstr or rstr;
 * SIZE_MAX: that side is the node left / right) with a column or another
 * literal, spanning tokens [first, c->pos): a new text comparison of the
 * model read by an OOC_EX_TEXT node, or a constant for two literals.  Only
 * == and != of a str literal with a bare column.  Errors: OOC_ERR_FORMULA
 * (caret), OOC_ERR_NOMEM. */
static ooc_status text_comparison(pyctx *c, ooc_ex_op op, size_t tok, size_t first, int left,
                                  size_t lstr, int right, size_t rstr, int *out)
{
    ooc_status status;
    char *text[2] = {NULL, NULL};
    size_t len[2] = {0, 0};
    const size_t str[2] = {lstr, rstr};
    if (op != OOC_EX_EQ && op != OOC_EX_NE)
        return py_error(c, tok, "only == and != compare texts: pandas orders a str column by "
                                "code point ('10' < '9') and refuses to order a category one");
    for (int i = 0; i < 2; i++) {
        py_string_kind kind;
        if (str[i] == SIZE_MAX)
            continue;
        OOC_CHECK(decode_string(c, str[i], &text[i], &len[i], &kind));
        if (kind != PY_STR) {
            status = py_error(c, str[i], kind == PY_BYTES
                                             ? "a bytes literal never equals a text (pandas "
                                               "compares them as unequal): drop the b prefix"
                                             : "f-strings are not supported");
            goto out;
        }
    }
    if (lstr != SIZE_MAX && rstr != SIZE_MAX) {
        bool same = len[0] == len[1] && memcmp(text[0], text[1], len[0]) == 0;
        status = ex_const(c, same == (op == OOC_EX_EQ), true, out);
        goto out;
    }
    int other = lstr == SIZE_MAX ? left : right;
    if (c->nodes[other].op != OOC_EX_VAR || c->nodes[other].is_const) {
        status = py_error(c, tok, "a string compares only with a column of texts (g == 'a', "
                                  "'a' != g), not with a number or an expression");
        goto out;
    }
    ooc_model *m = c->m;
    if (m->ntests == m->tests_cap) {
        size_t ncap = m->tests_cap ? 2 * m->tests_cap : 8;
        ooc_text_test *bigger = realloc(m->tests, ncap * sizeof *bigger);
        OOC_FAIL_IF(!bigger, c->err, OOC_ERR_NOMEM, "out of memory");
        m->tests = bigger;
        m->tests_cap = ncap;
    }
    int n = ex_new(c, OOC_EX_TEXT, -1, -1, -1);
    OOC_FAIL_IF(n < 0, c->err, OOC_ERR_NOMEM, "out of memory");
    const ooc_tok *last = &c->toks[c->pos - 1];
    int lit = lstr == SIZE_MAX; /* the side of the literal */
    m->tests[m->ntests] = (ooc_text_test){c->nodes[other].var, op == OOC_EX_EQ, text[lit],
                                         len[lit], c->toks[first].start,
                                         last->start + last->len - c->toks[first].start};
    text[lit] = NULL;
    c->nodes[n].var = m->ntests++;
    c->nodes[n].boolean = true;
    *out = n;
out:
    free(text[0]);
    free(text[1]);
    return status;
}

/* A whole expression: at most one comparison of two bitwise-or operands or
 * string literals (Python's chained comparisons would ask a column for one
 * truth value, which patsy's evaluation refuses), then no and / or / not /
 * if. */
static ooc_status parse_test(pyctx *c, int *out)
{
    ooc_status status;
    int left = -1;
    size_t first = c->pos, lstr;
    OOC_CHECK(check_keyword(c));
    OOC_CHECK(parse_comparand(c, &left, &lstr));
    ooc_ex_op op;
    if (at_comparison(c, &op)) {
        size_t tok = c->pos++, rstr;
        int right = -1;
        OOC_CHECK(parse_comparand(c, &right, &rstr));
        if (lstr != SIZE_MAX || rstr != SIZE_MAX)
            OOC_CHECK(text_comparison(c, op, tok, first, left, lstr, right, rstr, &left));
        else
            OOC_CHECK(ex_apply2(c, op, left, right, tok, &left));
        if (at_comparison(c, &op))
            return py_error(c, c->pos, "chained comparisons are not supported (they ask a "
                                       "whole column for one truth value): use (a < b) & "
                                       "(b < c)");
    }
    if (lstr != SIZE_MAX && left < 0)
        return string_misplaced(c, lstr);
    if (c->pos < c->end)
        OOC_CHECK(check_keyword(c));
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
 * applying numpy's fast paths for x**const and np.power(x, const) (x**2 ->
 * x*x, x**0.5 -> sqrt, x**-1 -> 1/x, x**1 -> x, x**0 -> 1).  The parser
 * creates each node after its operands, and a subtree's nodes one after
 * another, so the nodes the program needs, in creation order, are already in
 * postfix order: a backward pass marks them and a forward pass emits them,
 * without recursion however long the expression.  Errors: OOC_ERR_NOMEM. */
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
        bool const_pow = n->op == OOC_EX_POW && c->nodes[n->arg[1]].is_const;
        if (const_pow) {
            if (c->nodes[n->arg[1]].value != 0.0) /* x**0 is the constant 1 */
                needed[n->arg[0]] = true;
            continue;
        }
        for (int k = 0; k < 3; k++)
            if (n->arg[k] >= 0)
                needed[n->arg[k]] = true;
    }
    for (int i = 0; i <= root; i++) {
        const exnode *n = &c->nodes[i];
        if (!needed[i])
            continue;
        if (n->is_const) {
            OOC_CHECK(ex_push(c, f, &cap, OOC_EX_CONST, 0, n->value));
        } else if (n->op == OOC_EX_VAR) {
            OOC_CHECK(ex_push(c, f, &cap, OOC_EX_VAR, n->var, 0.0));
        } else if (n->op == OOC_EX_POW && c->nodes[n->arg[1]].is_const) {
            double e = c->nodes[n->arg[1]].value;
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
            OOC_CHECK(ex_push(c, f, &cap, n->op, n->var, 0.0));
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
        int k = ooc_ex_arity(f->prog[i].op);
        depth = k == 0 ? depth + 1 : depth - (size_t)(k - 1);
        if (depth > max)
            max = depth;
    }
    return max;
}

/* ------------------------------------------------------------------ */
/* Level lists and contrasts inside C()                               */
/* ------------------------------------------------------------------ */

/* Append a level to l (capacity *cap, grown as needed).  Errors: OOC_ERR_NOMEM. */
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
    char *text = ooc_level_text(kind, v, s, slen);
    if (!text)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory for levels");
    l->items[l->n].kind = kind;
    l->items[l->n].num = v;
    l->items[l->n].text = text;
    l->n++;
    return OOC_OK;
}

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
        size_t len;
        py_string_kind skind;
        ooc_status status = decode_string(c, c->pos, str, &len, &skind);
        if (status != OOC_OK)
            return status;
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

/* Poly's scores, after "scores=" or as the positional argument: a list of
 * distinct numbers (its length is checked against the levels when they are
 * known).  Errors: OOC_ERR_FORMULA, OOC_ERR_NOMEM. */
static ooc_status parse_poly_scores(pyctx *c, ooc_factor *f)
{
    ooc_status status;
    size_t cap = 0, start_tok = c->pos;
    ooc_level_list l = {NULL, 0};
    bool dup = false;
    OOC_CHECK(parse_level_list_into(c, &l, &cap));
    for (size_t i = 0; i < l.n; i++)
        if (l.items[i].kind == OOC_LEVEL_STR || l.items[i].kind == OOC_LEVEL_BOOL) {
            status = py_error(c, start_tok, "Poly scores must be numbers");
            goto out;
        }
    OOC_CHECK(has_duplicate_level(c, &l, &dup));
    if (dup || l.n == 0) {
        status = py_error(c, start_tok, dup ? "Poly scores must be distinct"
                                            : "Poly scores list is empty");
        goto out;
    }
    f->scores = malloc(l.n * sizeof *f->scores);
    if (!f->scores) {
        status = ex_nomem(c);
        goto out;
    }
    for (size_t i = 0; i < l.n; i++)
        f->scores[i] = l.items[i].num;
    f->nscores = l.n;
out:
    ooc_level_list_free(&l);
    return status;
}

/* A contrast: Treatment, Treatment(ref), Treatment(reference=ref), Sum,
 * Sum(v), Sum(omit=v), Helmert, Diff, Poly, Poly([scores]),
 * Poly(scores=[...]), each also with "()" and with patsy.'s prefix. */
static ooc_status parse_contrast(pyctx *c, ooc_factor *f)
{
    static const struct {
        const char *name;
        ooc_contrast_kind kind;
        const char *keyword; /* its one argument, NULL: none */
    } contrasts[] = {{"Treatment", OOC_CONTRAST_TREATMENT, "reference"},
                     {"Sum", OOC_CONTRAST_SUM, "omit"},
                     {"Helmert", OOC_CONTRAST_HELMERT, NULL},
                     {"Diff", OOC_CONTRAST_DIFF, NULL},
                     {"Poly", OOC_CONTRAST_POLY, "scores"}};
    ooc_status status = OOC_OK;
    size_t name_tok = c->pos;
    char name[64];
    if (!py_dotted_name(c, name, sizeof name))
        return py_unexpected(c);
    const char *base = strncmp(name, "patsy.", 6) == 0 ? name + 6 : name;
    size_t k = 0, n = sizeof contrasts / sizeof contrasts[0];
    while (k < n && strcmp(base, contrasts[k].name) != 0)
        k++;
    if (k == n) {
        char what[160];
        snprintf(what, sizeof what,
                 "unsupported contrast '%s' (use Treatment, Sum, Helmert, Diff or Poly)", name);
        return py_error(c, name_tok, what);
    }
    f->contrast = contrasts[k].kind;
    if (!py_at_op(c, "("))
        return OOC_OK;
    c->pos++;
    if (!py_at_op(c, ")")) {
        if (!contrasts[k].keyword) {
            char what[96];
            snprintf(what, sizeof what, "%s takes no arguments", contrasts[k].name);
            return py_error(c, c->pos, what);
        }
        if (c->pos + 1 < c->end && c->toks[c->pos].type == OOC_TOK_NAME &&
            ooc_tok_is(c->text, &c->toks[c->pos + 1], "=")) {
            if (!py_at_name(c, contrasts[k].keyword))
                return py_error(c, c->pos, "unknown keyword argument");
            c->pos += 2;
        }
        if (f->contrast == OOC_CONTRAST_POLY) {
            OOC_CHECK(parse_poly_scores(c, f));
        } else {
            char *str = NULL;
            OOC_CHECK(parse_level_value(c, &f->ref.kind, &f->ref.num, &str));
            f->ref.text = str ? str : ooc_level_text(f->ref.kind, f->ref.num, NULL, 0);
            if (!f->ref.text)
                return ex_nomem(c);
            f->has_ref = true;
        }
    }
    OOC_CHECK(py_expect(c, ")"));
out:
    return status;
}

/* Make f the factor of the expression rooted at node `root` (starting at
 * token `tok`): a boolean one (categorical, levels False and True unless
 * given) or a numeric one, with its program.  Errors: OOC_ERR_FORMULA (a
 * constant), OOC_ERR_NOMEM. */
static ooc_status expression_factor(pyctx *c, ooc_factor *f, int root, size_t tok)
{
    if (c->nodes[root].is_const)
        return py_error(c, tok, "a factor must depend on the data");
    f->kind = c->nodes[root].boolean ? OOC_FACTOR_BOOL : OOC_FACTOR_EXPR;
    f->categorical = f->kind == OOC_FACTOR_BOOL;
    ooc_status status = ex_emit(c, f, root);
    f->stack_depth = ex_stack_depth(f);
    return status;
}

/* The levels of boolean factor f when none were given: False, True (patsy
 * gives a boolean factor both, whatever the data).  Errors: OOC_ERR_NOMEM. */
static ooc_status bool_levels(pyctx *c, ooc_factor *f)
{
    size_t cap = 0;
    ooc_status status = OOC_OK;
    for (int b = 0; b < 2 && status == OOC_OK; b++)
        status = level_list_push(&f->levels, &cap, OOC_LEVEL_BOOL, b, NULL, 0, c->err);
    return status;
}

/* Whether the first argument of C() at c->pos is a column: a name or Q('...')
 * followed by ',' or ')'. */
static bool column_argument(const pyctx *c)
{
    size_t k = c->pos;
    if (k + 1 < c->end && c->toks[k].type == OOC_TOK_NAME &&
        (ooc_tok_is(c->text, &c->toks[k + 1], ",") || ooc_tok_is(c->text, &c->toks[k + 1], ")")))
        return true;
    return k + 4 < c->end && py_at_name(c, "Q") && ooc_tok_is(c->text, &c->toks[k + 1], "(") &&
           c->toks[k + 2].type == OOC_TOK_STRING && ooc_tok_is(c->text, &c->toks[k + 3], ")") &&
           (ooc_tok_is(c->text, &c->toks[k + 4], ",") ||
            ooc_tok_is(c->text, &c->toks[k + 4], ")"));
}

/* C(column or boolean expression[, contrast][, levels]) after the "C" token. */
static ooc_status parse_categorical(pyctx *c, ooc_factor *f)
{
    ooc_status status;
    size_t expr_tok = 0;
    c->pos++; /* C */
    OOC_CHECK(py_expect(c, "("));
    if (column_argument(c)) {
        OOC_CHECK(parse_variable_ref(c, &f->var));
        f->kind = OOC_FACTOR_CAT;
    } else {
        int root;
        expr_tok = c->pos;
        OOC_CHECK(parse_test(c, &root));
        OOC_CHECK(expression_factor(c, f, root, expr_tok));
    }
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
            size_t levels_tok = c->pos;
            OOC_CHECK(parse_level_list(c, &f->levels));
            f->has_given_levels = true;
            if (f->kind == OOC_FACTOR_BOOL && f->levels.items[0].kind == OOC_LEVEL_STR) {
                status = py_error(c, levels_tok, "the levels of a boolean factor are True and "
                                                 "False");
                goto out;
            }
        }
    }
    OOC_CHECK(py_expect(c, ")"));
    if (f->kind == OOC_FACTOR_BOOL && !f->has_given_levels)
        OOC_CHECK(bool_levels(c, f));
    if (f->kind == OOC_FACTOR_EXPR) {
        /* C() of a numeric expression: its levels' names would follow pandas' dtypes (1 for an
         * int64 result, 1.0 for a float64 one), which float64 columns do not keep, so the
         * levels are given; values are matched to them as numbers (1.0 == 1) */
        if (!f->has_given_levels || f->levels.items[0].kind == OOC_LEVEL_STR) {
            status = py_error(c, expr_tok, "C() of a numeric expression needs its levels as "
                                           "numbers: C(np.floor(x), levels=[0, 1, 2])");
            goto out;
        }
        if (f->ntf) {
            status = py_error(c, expr_tok, "C() of a stateful transform is not supported");
            goto out;
        }
        f->kind = OOC_FACTOR_CATEXPR;
    }
out:
    return status;
}

/* bs(x, ...), cr(x, ...), cc(x, ...) as a whole factor: its program computes
 * x, its one transform the columns. */
static ooc_status parse_spline_factor(pyctx *c, ooc_factor *f, ooc_transform_kind kind)
{
    ooc_status status;
    size_t name_tok = c->pos;
    c->pos++;
    OOC_CHECK(py_expect(c, "("));
    int arg;
    size_t index;
    size_t arg_tok = c->pos;
    OOC_CHECK(parse_transform_call(c, name_tok, kind, &arg, &index));
    if (c->nodes[arg].is_const)
        return py_error(c, arg_tok, "a factor must depend on the data");
    f->kind = OOC_FACTOR_SPLINE;
    OOC_CHECK(ex_emit(c, f, arg));
    f->stack_depth = ex_stack_depth(f);
out:
    return status;
}

/* Turn the Python expression toks[first, first+count) into a factor. */
ooc_status ooc_formula_make_factor(ooc_model *m, const ooc_tok *toks, size_t first,
                                   size_t count, const ooc_formula_var *fvars, size_t nfvars,
                                   size_t *index, ooc_error *err)
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
    c.factor = f;
    ooc_status status = OOC_OK;
    ooc_transform_kind tf_kind;
    bool is_call = count >= 2 && toks[first].type == OOC_TOK_NAME &&
                   ooc_tok_is(m->formula, &toks[first + 1], "(");
    if (count == 1 && toks[first].type == OOC_TOK_NAME) {
        f->kind = OOC_FACTOR_VAR;
        OOC_CHECK(parse_variable_ref(&c, &f->var));
    } else if (is_call && py_at_name(&c, "Q") && count == 4) {
        f->kind = OOC_FACTOR_VAR;
        OOC_CHECK(parse_variable_ref(&c, &f->var));
    } else if (is_call && py_at_name(&c, "C")) {
        OOC_CHECK(parse_categorical(&c, f));
    } else if (is_call && toks[first].len < 16 && spline_name(m->formula, &toks[first], &tf_kind)) {
        OOC_CHECK(parse_spline_factor(&c, f, tf_kind));
    } else {
        int root;
        OOC_CHECK(parse_test(&c, &root));
        if (c.pos == c.end) {
            OOC_CHECK(expression_factor(&c, f, root, first));
            if (f->kind == OOC_FACTOR_BOOL)
                OOC_CHECK(bool_levels(&c, f));
        }
    }
    if (c.pos != c.end)
        status = py_unexpected(&c);
out:
    free(c.nodes);
    *index = m->nfactors - 1;
    return status;
}
