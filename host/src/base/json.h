/*
 * json.h — a small JSON reader (RFC 8259) producing a tree of values, and
 * the one JSON string writer every JSON output of the project uses.
 *
 * Written for reading back the profile traces this project writes, but
 * complete: objects, arrays, strings with every escape (\uXXXX including
 * surrogate pairs, emitted as UTF-8), numbers, true/false/null.  Nesting is
 * limited to 64 levels.  Not streaming: the whole text is in memory and the
 * tree holds copies of strings (NUL-terminated; embedded NULs are rejected).
 */
#ifndef OOC_JSON_H
#define OOC_JSON_H

#include "oocsolve.h"

#include "base/textbuf.h"

#include <stddef.h>
#include <stdio.h>

typedef enum ooc_json_type {
    OOC_JSON_NULL,
    OOC_JSON_BOOL,
    OOC_JSON_NUMBER,
    OOC_JSON_STRING,
    OOC_JSON_ARRAY,
    OOC_JSON_OBJECT
} ooc_json_type;

typedef struct ooc_json_member ooc_json_member;

typedef struct ooc_json_value {
    ooc_json_type type;
    bool boolean;                  /* OOC_JSON_BOOL */
    double number;                 /* OOC_JSON_NUMBER */
    char *string;                  /* OOC_JSON_STRING */
    struct ooc_json_value *items;  /* OOC_JSON_ARRAY: n items */
    ooc_json_member *members;      /* OOC_JSON_OBJECT: n members, in text order */
    size_t n;
} ooc_json_value;

struct ooc_json_member {
    char *key;
    ooc_json_value value;
};

/* Parse `len` bytes of `text` into *out (free with ooc_json_free).  `what`
 * names the input in messages ("trace 'run.json'").  Errors:
 * OOC_ERR_CORRUPT (syntax; the message gives line and column and quotes the
 * text there), OOC_ERR_NOMEM. */
ooc_status ooc_json_parse(const char *text, size_t len, const char *what, ooc_json_value **out,
                          ooc_error *err);

/* Free a tree returned by ooc_json_parse; NULL is a no-op. */
void ooc_json_free(ooc_json_value *v);

/* The value of member `key` of object `obj`, or NULL (also when obj is not
 * an object).  The first member wins when a key repeats. */
const ooc_json_value *ooc_json_get(const ooc_json_value *obj, const char *key);

/* Write s to f as a JSON string literal: quoted; " and \ escaped; newline,
 * carriage return and tab as \n \r \t; the other control characters and DEL
 * as \u00XX; every other byte (UTF-8 included) as it is.  NULL is written as
 * null.  I/O errors are left in f's error indicator. */
void ooc_json_write_string(FILE *f, const char *s);

/* The same literal as ooc_json_write_string, appended to b. */
void ooc_json_append_string(ooc_textbuf *b, const char *s);

#endif
