/*
 * json.c — recursive-descent JSON reader, and the JSON string writer (see
 * json.h).
 *
 * The parser keeps a cursor into the text; every syntax error is reported
 * at the cursor with its line and column.  Arrays and objects grow by
 * doubling; on any error the partial tree is freed.  The writer escapes
 * once, for two sinks (a FILE, a text buffer).
 */
#include "base/json.h"

#include "base/error.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 64

typedef struct parser {
    const char *text;
    size_t len;
    size_t pos;
    const char *what;
    ooc_error *err;
} parser;

static ooc_status syntax_error(parser *p, const char *expected)
{
    size_t line = 1, col = 1;
    for (size_t i = 0; i < p->pos && i < p->len; i++) {
        if (p->text[i] == '\n') {
            line++;
            col = 1;
        } else {
            col++;
        }
    }
    char excerpt[48];
    if (p->pos >= p->len) {
        snprintf(excerpt, sizeof excerpt, "end of input");
    } else {
        size_t n = p->len - p->pos < 16 ? p->len - p->pos : 16;
        ooc_quote_excerpt(excerpt, sizeof excerpt, p->text + p->pos, n);
    }
    return OOC_FAIL(p->err, OOC_ERR_CORRUPT, "%s: line %zu, column %zu: expected %s, found %s",
                    p->what, line, col, expected, excerpt);
}

static void skip_space(parser *p)
{
    while (p->pos < p->len) {
        char c = p->text[p->pos];
        if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
            break;
        p->pos++;
    }
}

static bool literal(parser *p, const char *word)
{
    size_t n = strlen(word);
    if (p->len - p->pos >= n && !memcmp(p->text + p->pos, word, n)) {
        p->pos += n;
        return true;
    }
    return false;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Four hex digits at the cursor (after "\u"); -1 if malformed. */
static long read_hex4(parser *p)
{
    if (p->len - p->pos < 4)
        return -1;
    long v = 0;
    for (int i = 0; i < 4; i++) {
        int d = hex_digit(p->text[p->pos + (size_t)i]);
        if (d < 0)
            return -1;
        v = v * 16 + d;
    }
    p->pos += 4;
    return v;
}

static size_t utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* A string at the cursor (on the opening quote) into a new NUL-terminated copy. */
static ooc_status parse_string(parser *p, char **out)
{
    ooc_status status = OOC_OK;
    p->pos++; /* opening quote */
    /* Escapes never make the text longer, so the raw length bounds the copy. */
    size_t end = p->pos;
    while (end < p->len && p->text[end] != '"')
        end += p->text[end] == '\\' ? 2 : 1;
    char *s = malloc((end > p->len ? p->len : end) - p->pos + 1);
    size_t n = 0;
    OOC_FAIL_IF(!s, p->err, OOC_ERR_NOMEM, "out of memory reading %s", p->what);
    for (;;) {
        if (p->pos >= p->len) {
            status = syntax_error(p, "closing '\"'");
            goto out;
        }
        unsigned char c = (unsigned char)p->text[p->pos];
        if (c == '"') {
            p->pos++;
            break;
        }
        if (c < 0x20) {
            status = syntax_error(p, "a string character (control characters must be escaped)");
            goto out;
        }
        if (c != '\\') {
            s[n++] = (char)c;
            p->pos++;
            continue;
        }
        p->pos++;
        char e = p->pos < p->len ? p->text[p->pos] : '\0';
        p->pos++;
        switch (e) {
        case '"': s[n++] = '"'; break;
        case '\\': s[n++] = '\\'; break;
        case '/': s[n++] = '/'; break;
        case 'b': s[n++] = '\b'; break;
        case 'f': s[n++] = '\f'; break;
        case 'n': s[n++] = '\n'; break;
        case 'r': s[n++] = '\r'; break;
        case 't': s[n++] = '\t'; break;
        case 'u': {
            long cp = read_hex4(p);
            if (cp < 0) {
                status = syntax_error(p, "four hex digits after \\u");
                goto out;
            }
            if (cp >= 0xD800 && cp <= 0xDBFF) {
                long lo = -1;
                if (literal(p, "\\u"))
                    lo = read_hex4(p);
                if (lo < 0xDC00 || lo > 0xDFFF) {
                    status = syntax_error(p, "a low surrogate \\uDC00-\\uDFFF");
                    goto out;
                }
                cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            } else if (cp >= 0xDC00 && cp <= 0xDFFF) {
                status = syntax_error(p, "a high surrogate before a low one");
                goto out;
            }
            if (cp == 0) {
                status = syntax_error(p, "no \\u0000 (NUL is not supported in strings)");
                goto out;
            }
            n += utf8_encode((uint32_t)cp, s + n);
            break;
        }
        default:
            p->pos--;
            status = syntax_error(p, "an escape (\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)");
            goto out;
        }
    }
    s[n] = '\0';
    *out = s;
    s = NULL;
out:
    free(s);
    return status;
}

/* A number per the JSON grammar: -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static ooc_status parse_number(parser *p, double *out)
{
    size_t start = p->pos, i = p->pos;
    const char *t = p->text;
#define DIGIT(k) ((k) < p->len && t[k] >= '0' && t[k] <= '9')
    if (i < p->len && t[i] == '-')
        i++;
    if (i < p->len && t[i] == '0') {
        i++;
    } else if (DIGIT(i)) {
        while (DIGIT(i))
            i++;
    } else {
        p->pos = i;
        return syntax_error(p, "a digit");
    }
    if (i < p->len && t[i] == '.') {
        i++;
        if (!DIGIT(i)) {
            p->pos = i;
            return syntax_error(p, "a digit after '.'");
        }
        while (DIGIT(i))
            i++;
    }
    if (i < p->len && (t[i] == 'e' || t[i] == 'E')) {
        i++;
        if (i < p->len && (t[i] == '+' || t[i] == '-'))
            i++;
        if (!DIGIT(i)) {
            p->pos = i;
            return syntax_error(p, "a digit in the exponent");
        }
        while (DIGIT(i))
            i++;
    }
#undef DIGIT
    char buf[64];
    size_t n = i - start;
    if (n >= sizeof buf) {
        /* Long mantissas: strtod needs a terminated copy. */
        char *copy = strndup(t + start, n);
        if (!copy)
            return OOC_FAIL(p->err, OOC_ERR_NOMEM, "out of memory reading %s", p->what);
        *out = strtod(copy, NULL);
        free(copy);
    } else {
        memcpy(buf, t + start, n);
        buf[n] = '\0';
        *out = strtod(buf, NULL);
    }
    p->pos = i;
    return OOC_OK;
}

static ooc_status parse_value(parser *p, ooc_json_value *v, int depth);

static ooc_status parse_array(parser *p, ooc_json_value *v, int depth)
{
    ooc_status status = OOC_OK;
    size_t cap = 0;
    v->type = OOC_JSON_ARRAY;
    p->pos++; /* '[' */
    skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == ']') {
        p->pos++;
        return OOC_OK;
    }
    for (;;) {
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            ooc_json_value *grown = realloc(v->items, cap * sizeof *grown);
            OOC_FAIL_IF(!grown, p->err, OOC_ERR_NOMEM, "out of memory reading %s", p->what);
            v->items = grown;
        }
        memset(&v->items[v->n], 0, sizeof v->items[v->n]);
        v->n++;
        OOC_CHECK(parse_value(p, &v->items[v->n - 1], depth + 1));
        skip_space(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == ']') {
            p->pos++;
            break;
        }
        status = syntax_error(p, "',' or ']'");
        goto out;
    }
out:
    return status;
}

static ooc_status parse_object(parser *p, ooc_json_value *v, int depth)
{
    ooc_status status = OOC_OK;
    size_t cap = 0;
    v->type = OOC_JSON_OBJECT;
    p->pos++; /* '{' */
    skip_space(p);
    if (p->pos < p->len && p->text[p->pos] == '}') {
        p->pos++;
        return OOC_OK;
    }
    for (;;) {
        skip_space(p);
        if (p->pos >= p->len || p->text[p->pos] != '"') {
            status = syntax_error(p, "a member name in quotes");
            goto out;
        }
        if (v->n == cap) {
            cap = cap ? 2 * cap : 8;
            ooc_json_member *grown = realloc(v->members, cap * sizeof *grown);
            OOC_FAIL_IF(!grown, p->err, OOC_ERR_NOMEM, "out of memory reading %s", p->what);
            v->members = grown;
        }
        ooc_json_member *m = &v->members[v->n++];
        memset(m, 0, sizeof *m);
        OOC_CHECK(parse_string(p, &m->key));
        skip_space(p);
        if (p->pos >= p->len || p->text[p->pos] != ':') {
            status = syntax_error(p, "':'");
            goto out;
        }
        p->pos++;
        OOC_CHECK(parse_value(p, &m->value, depth + 1));
        skip_space(p);
        if (p->pos < p->len && p->text[p->pos] == ',') {
            p->pos++;
            continue;
        }
        if (p->pos < p->len && p->text[p->pos] == '}') {
            p->pos++;
            break;
        }
        status = syntax_error(p, "',' or '}'");
        goto out;
    }
out:
    return status;
}

static ooc_status parse_value(parser *p, ooc_json_value *v, int depth)
{
    if (depth > MAX_DEPTH)
        return syntax_error(p, "at most 64 levels of nesting");
    skip_space(p);
    if (p->pos >= p->len)
        return syntax_error(p, "a value");
    char c = p->text[p->pos];
    switch (c) {
    case '{': return parse_object(p, v, depth);
    case '[': return parse_array(p, v, depth);
    case '"':
        v->type = OOC_JSON_STRING;
        return parse_string(p, &v->string);
    case 't':
    case 'f':
    case 'n':
        if (literal(p, "true")) {
            v->type = OOC_JSON_BOOL;
            v->boolean = true;
        } else if (literal(p, "false")) {
            v->type = OOC_JSON_BOOL;
        } else if (literal(p, "null")) {
            v->type = OOC_JSON_NULL;
        } else {
            return syntax_error(p, "a value");
        }
        return OOC_OK;
    default:
        if (c == '-' || (c >= '0' && c <= '9')) {
            v->type = OOC_JSON_NUMBER;
            return parse_number(p, &v->number);
        }
        return syntax_error(p, "a value");
    }
}

/* Free what a value owns (not the value itself). */
static void free_contents(ooc_json_value *v)
{
    switch (v->type) {
    case OOC_JSON_STRING: free(v->string); break;
    case OOC_JSON_ARRAY:
        for (size_t i = 0; i < v->n; i++)
            free_contents(&v->items[i]);
        free(v->items);
        break;
    case OOC_JSON_OBJECT:
        for (size_t i = 0; i < v->n; i++) {
            free(v->members[i].key);
            free_contents(&v->members[i].value);
        }
        free(v->members);
        break;
    default: break;
    }
}

void ooc_json_free(ooc_json_value *v)
{
    if (!v)
        return;
    free_contents(v);
    free(v);
}

ooc_status ooc_json_parse(const char *text, size_t len, const char *what, ooc_json_value **out,
                          ooc_error *err)
{
    ooc_status status = OOC_OK;
    *out = NULL;
    parser p = {text, len, 0, what ? what : "JSON text", err};
    ooc_json_value *root = calloc(1, sizeof *root);
    if (!root)
        return OOC_FAIL(err, OOC_ERR_NOMEM, "out of memory reading %s", p.what);
    OOC_CHECK(parse_value(&p, root, 0));
    skip_space(&p);
    if (p.pos != p.len) {
        status = syntax_error(&p, "end of input after the value");
        goto out;
    }
    *out = root;
    root = NULL;
out:
    ooc_json_free(root);
    return status;
}

const ooc_json_value *ooc_json_get(const ooc_json_value *obj, const char *key)
{
    if (!obj || obj->type != OOC_JSON_OBJECT)
        return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (!strcmp(obj->members[i].key, key))
            return &obj->members[i].value;
    return NULL;
}

/* ---- writing strings ---- */

typedef void (*emit_fn)(void *sink, const char *bytes, size_t n);

/* Emit s as a JSON string literal (see ooc_json_write_string) in pieces. */
static void escape_string(const char *s, emit_fn emit, void *sink)
{
    if (!s) {
        emit(sink, "null", 4);
        return;
    }
    emit(sink, "\"", 1);
    const char *run = s; /* start of the bytes not emitted yet */
    for (const char *c = s;; c++) {
        unsigned char u = (unsigned char)*c;
        if (u >= 0x20 && u != '"' && u != '\\' && u != 0x7f)
            continue;
        if (c > run)
            emit(sink, run, (size_t)(c - run));
        if (!u)
            break;
        char hex[8];
        const char *esc = hex;
        switch (u) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default: snprintf(hex, sizeof hex, "\\u%04x", u);
        }
        emit(sink, esc, strlen(esc));
        run = c + 1;
    }
    emit(sink, "\"", 1);
}

static void emit_to_file(void *sink, const char *bytes, size_t n)
{
    fwrite(bytes, 1, n, sink);
}

static void emit_to_textbuf(void *sink, const char *bytes, size_t n)
{
    ooc_textbuf_append_n(sink, bytes, n);
}

void ooc_json_write_string(FILE *f, const char *s)
{
    escape_string(s, emit_to_file, f);
}

void ooc_json_append_string(ooc_textbuf *b, const char *s)
{
    escape_string(s, emit_to_textbuf, b);
}
