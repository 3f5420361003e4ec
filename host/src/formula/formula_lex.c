/*
 * formula_lex.c — the lexical layer of the formula language: a tokenizer for
 * the Python-like expression syntax patsy accepts, patsy's token-spacing rules
 * (which give factors their names, e.g. "I(a*b)" -> "I(a * b)"), formula error
 * messages with a caret under the offending text, and Python's float repr
 * (used to print float levels as patsy does).
 */
#include "base/error.h"
#include "formula/formula_internal.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_name_start(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c >= 0x80;
}

static bool is_name_char(unsigned char c) { return is_name_start(c) || (c >= '0' && c <= '9'); }

static bool is_digit(unsigned char c) { return c >= '0' && c <= '9'; }

/* Length of the number literal starting at s (s[0] is a digit, or '.' then a digit). */
static size_t number_length(const char *s)
{
    size_t i = 0;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X' || s[1] == 'o' || s[1] == 'O' || s[1] == 'b' ||
                        s[1] == 'B')) {
        i = 2;
        while (is_name_char((unsigned char)s[i]))
            i++;
        return i;
    }
    while (is_digit((unsigned char)s[i]) || s[i] == '_')
        i++;
    if (s[i] == '.') {
        i++;
        while (is_digit((unsigned char)s[i]) || s[i] == '_')
            i++;
    }
    if ((s[i] == 'e' || s[i] == 'E') &&
        (is_digit((unsigned char)s[i + 1]) ||
         ((s[i + 1] == '+' || s[i + 1] == '-') && is_digit((unsigned char)s[i + 2])))) {
        i += 2;
        while (is_digit((unsigned char)s[i]) || s[i] == '_')
            i++;
    }
    if (s[i] == 'j' || s[i] == 'J')
        i++;
    return i;
}

/* Length of the string literal starting at the quote s[0]; 0 if unterminated. */
static size_t string_length(const char *s)
{
    char q = s[0];
    bool triple = s[1] == q && s[2] == q;
    size_t i = triple ? 3 : 1;
    while (s[i]) {
        if (s[i] == '\\' && s[i + 1]) {
            i += 2;
            continue;
        }
        if (s[i] == q) {
            if (!triple)
                return i + 1;
            if (s[i + 1] == q && s[i + 2] == q)
                return i + 3;
        }
        if (!triple && s[i] == '\n')
            return 0;
        i++;
    }
    return 0;
}

static bool is_string_prefix(const char *s, size_t n)
{
    static const char *const prefixes[] = {"r", "u", "b", "f", "br", "rb", "fr", "rf"};
    if (n > 2)
        return false;
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
        if (strlen(prefixes[i]) != n)
            continue;
        size_t k = 0;
        while (k < n && (s[k] | 0x20) == prefixes[i][k])
            k++;
        if (k == n)
            return true;
    }
    return false;
}

/* Length of the operator starting at s, 0 if s[0] is not an operator character. */
static size_t operator_length(const char *s)
{
    static const char *const three[] = {"**=", "//=", ">>=", "<<=", "..."};
    static const char *const two[] = {"**", "//", "==", "!=", "<=", ">=", "<<", ">>", "->", "+=",
                                      "-=", "*=", "/=", "%=", "&=", "|=", "^=", "@=", ":=", "<>"};
    for (size_t i = 0; i < sizeof three / sizeof three[0]; i++)
        if (strncmp(s, three[i], 3) == 0)
            return 3;
    for (size_t i = 0; i < sizeof two / sizeof two[0]; i++)
        if (strncmp(s, two[i], 2) == 0)
            return 2;
    if (s[0] && strchr("+-*/%&|^~<>()[]{},:;.=@!", s[0]))
        return 1;
    return 0;
}

ooc_status ooc_formula_tokenize(const char *text, ooc_tok **out, size_t *ntok, ooc_error *err)
{
    size_t cap = 16, n = 0;
    ooc_tok *toks = malloc(cap * sizeof *toks);
    if (!toks)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory tokenizing the formula");
    size_t i = 0;
    while (text[i]) {
        unsigned char c = (unsigned char)text[i];
        if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v') {
            i++;
            continue;
        }
        ooc_tok t = {OOC_TOK_OP, i, 0};
        if (is_name_start(c)) {
            size_t k = i;
            while (is_name_char((unsigned char)text[k]))
                k++;
            if ((text[k] == '\'' || text[k] == '"') && is_string_prefix(text + i, k - i)) {
                size_t sl = string_length(text + k);
                if (!sl) {
                    free(toks);
                    return ooc_formula_error(err, text, k, 1, "unterminated string literal");
                }
                t.type = OOC_TOK_STRING;
                t.len = k - i + sl;
            } else {
                t.type = OOC_TOK_NAME;
                t.len = k - i;
            }
        } else if (is_digit(c) || (c == '.' && is_digit((unsigned char)text[i + 1]))) {
            t.type = OOC_TOK_NUMBER;
            t.len = number_length(text + i);
        } else if (c == '\'' || c == '"') {
            t.type = OOC_TOK_STRING;
            t.len = string_length(text + i);
            if (!t.len) {
                free(toks);
                return ooc_formula_error(err, text, i, 1, "unterminated string literal");
            }
        } else {
            t.len = operator_length(text + i);
            if (!t.len) {
                free(toks);
                return ooc_formula_error(err, text, i, 1, "unexpected character '%c'",
                                         c >= 0x20 && c < 0x7f ? (char)c : '?');
            }
        }
        if (n == cap) {
            ooc_tok *bigger = realloc(toks, 2 * cap * sizeof *toks);
            if (!bigger) {
                free(toks);
                return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory tokenizing the formula");
            }
            toks = bigger;
            cap *= 2;
        }
        toks[n++] = t;
        i += t.len;
    }
    *out = toks;
    *ntok = n;
    return OOC_OK;
}

bool ooc_tok_is(const char *text, const ooc_tok *t, const char *op)
{
    size_t n = strlen(op);
    return t->type == OOC_TOK_OP && t->len == n && memcmp(text + t->start, op, n) == 0;
}

static bool in_list(const char *s, size_t n, const char *const *list, size_t count)
{
    for (size_t i = 0; i < count; i++)
        if (strlen(list[i]) == n && memcmp(list[i], s, n) == 0)
            return true;
    return false;
}

char *ooc_formula_untokenize(const char *text, const ooc_tok *toks, size_t n)
{
    /* Operators patsy spaces on both sides, before only, after only. */
    static const char *const both[] = {"+", "-", "*", "/", "%", "&", "^", "|", "<", ">", "==",
                                       "<>", "!=", "<=", ">=", "<<", ">>", "**", "//"};
    static const size_t nboth = sizeof both / sizeof both[0];
    size_t cap = 1;
    for (size_t i = 0; i < n; i++)
        cap += toks[i].len + 2;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t o = 0;
    bool prev_was_space_delim = false, prev_wants_space = false;
    bool prev_was_open_paren_or_comma = false, prev_was_object_like = false;
    char brackets[256];
    size_t depth = 0; /* bracket stack, deeper levels are only counted */
    for (size_t i = 0; i < n; i++) {
        const char *s = text + toks[i].start;
        size_t len = toks[i].len;
        bool object_like = toks[i].type != OOC_TOK_OP;
        if (object_like) {
            if (prev_wants_space || prev_was_space_delim)
                out[o++] = ' ';
            memcpy(out + o, s, len);
            o += len;
            prev_wants_space = false;
            prev_was_space_delim = true;
        } else {
            char c0 = s[0];
            if (len == 1 && (c0 == '(' || c0 == '[' || c0 == '{')) {
                if (depth < sizeof brackets)
                    brackets[depth] = c0;
                depth++;
            } else if (depth && len == 1 && (c0 == ')' || c0 == ']' || c0 == '}')) {
                depth--;
            }
            bool want_before = in_list(s, len, both, nboth) ||
                               (len == 1 && (c0 == '!' || c0 == '~'));
            bool want_after = in_list(s, len, both, nboth) || (len == 1 && (c0 == ',' || c0 == ':'));
            if (len == 1 && c0 == ':' && depth && depth <= sizeof brackets &&
                brackets[depth - 1] == '[')
                want_after = false;
            if (((len == 1 && c0 == '*') || (len == 2 && s[0] == '*' && s[1] == '*')) &&
                prev_was_open_paren_or_comma)
                want_before = want_after = false;
            if (len == 1 && c0 == '=' && depth == 0)
                want_before = want_after = true;
            if (len == 1 && (c0 == '+' || c0 == '-') && !prev_was_object_like)
                want_before = want_after = false;
            if (prev_wants_space || want_before)
                out[o++] = ' ';
            memcpy(out + o, s, len);
            o += len;
            prev_wants_space = want_after;
            prev_was_space_delim = false;
        }
        prev_was_object_like = object_like || (len == 1 && s[0] == ')' && !object_like);
        prev_was_open_paren_or_comma = !object_like && len == 1 && (s[0] == '(' || s[0] == ',');
    }
    out[o] = '\0';
    return out;
}

ooc_status ooc_formula_error(ooc_error *err, const char *formula, size_t pos, size_t len,
                             const char *fmt, ...)
{
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    /* Show at most `window` characters of the formula around the error. */
    const size_t window = 100;
    size_t flen = strlen(formula);
    if (pos > flen)
        pos = flen;
    if (len == 0)
        len = 1;
    size_t from = 0, to = flen;
    if (flen > window) {
        from = pos > window / 2 ? pos - window / 2 : 0;
        to = from + window < flen ? from + window : flen;
    }
    char line[160], carets[160];
    size_t o = 0;
    if (from > 0) {
        memcpy(line, "...", 3);
        o = 3;
    }
    size_t caret_col = o + (pos - from);
    for (size_t i = from; i < to; i++) {
        unsigned char c = (unsigned char)formula[i];
        line[o++] = (c < 0x20 || c == 0x7f) ? ' ' : (char)c;
    }
    if (to < flen) {
        memcpy(line + o, "...", 3);
        o += 3;
    }
    line[o] = '\0';
    size_t k = 0;
    for (; k < caret_col && k < sizeof carets - 2; k++)
        carets[k] = ' ';
    for (size_t j = 0; j < len && pos + j < to + 1 && k < sizeof carets - 1; j++)
        carets[k++] = '^';
    carets[k] = '\0';
    return OOC_FAIL(err, OOC_ERR_FORMULA, "formula error: %s\n  %s\n  %s", what, line, carets);
}

void ooc_python_float_repr(double v, char *dst, size_t dstsize)
{
    if (isnan(v)) {
        snprintf(dst, dstsize, "nan");
        return;
    }
    if (isinf(v)) {
        snprintf(dst, dstsize, v < 0 ? "-inf" : "inf");
        return;
    }
    /* Shortest digit string that reads back as v. */
    char buf[40];
    for (int prec = 0; prec < 17; prec++) {
        snprintf(buf, sizeof buf, "%.*e", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    /* buf is [-]d[.ddd]e[+-]XX: split into sign, digits and exponent. */
    const char *p = buf;
    bool negative = *p == '-';
    if (negative)
        p++;
    char digits[24];
    size_t nd = 0;
    for (; *p && *p != 'e'; p++)
        if (*p != '.' && nd < sizeof digits - 1)
            digits[nd++] = *p;
    digits[nd] = '\0';
    int exp10 = atoi(p + 1);
    while (nd > 1 && digits[nd - 1] == '0')
        digits[--nd] = '\0';
    char out[64];
    size_t o = 0;
    if (negative)
        out[o++] = '-';
    if (exp10 < -4 || exp10 >= 16) {
        out[o++] = digits[0];
        if (nd > 1) {
            out[o++] = '.';
            for (size_t i = 1; i < nd; i++)
                out[o++] = digits[i];
        }
        o += (size_t)snprintf(out + o, sizeof out - o, "e%c%02d", exp10 < 0 ? '-' : '+',
                              exp10 < 0 ? -exp10 : exp10);
    } else if (exp10 < 0) {
        out[o++] = '0';
        out[o++] = '.';
        for (int i = -1; i > exp10; i--)
            out[o++] = '0';
        for (size_t i = 0; i < nd; i++)
            out[o++] = digits[i];
        out[o] = '\0';
    } else {
        size_t int_digits = (size_t)exp10 + 1;
        for (size_t i = 0; i < int_digits; i++)
            out[o++] = i < nd ? digits[i] : '0';
        out[o++] = '.';
        if (nd > int_digits)
            for (size_t i = int_digits; i < nd; i++)
                out[o++] = digits[i];
        else
            out[o++] = '0';
        out[o] = '\0';
    }
    snprintf(dst, dstsize, "%s", out);
}
