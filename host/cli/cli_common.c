/* cli_common.c — option parsing shared by the oocsolve subcommands, and
 * the checks that keep outputs from destroying inputs or special files. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Whether item s[0..len) of a bare --var list is a Python literal as it
 * stands: a number or True / False. */
static bool bare_literal(const char *s, size_t len)
{
    if ((len == 4 && !memcmp(s, "True", 4)) || (len == 5 && !memcmp(s, "False", 5)))
        return true;
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    strtod(buf, &end);
    return *end == '\0' && strspn(buf, "0123456789+-.eE_") == len;
}

/* The item of a bare --var list that starts at `item`: its text without the
 * spaces and tabs around it (*t, *tl); returns its length up to the comma. */
static size_t bare_item(const char *item, const char **t, size_t *tl)
{
    size_t n = strcspn(item, ",");
    *t = item;
    *tl = n;
    while (*tl && (**t == ' ' || **t == '\t'))
        (*t)++, (*tl)--;
    while (*tl && ((*t)[*tl - 1] == ' ' || (*t)[*tl - 1] == '\t'))
        (*tl)--;
    return n;
}

/* The list literal of a bare --var value "a,b,c" (malloc'ed): its items with
 * the spaces around them removed, as they are when every one is a number or
 * True / False, else every one quoted as a string ("a,b" is ['a', 'b'], as a
 * user means it).  NULL when out of memory. */
static char *bare_list(const char *value)
{
    size_t len = strlen(value), nitems = 1;
    bool literal = true;
    for (const char *c = value; *c; c++)
        nitems += *c == ',';
    for (const char *item = value;;) {
        const char *t;
        size_t tl, n = bare_item(item, &t, &tl);
        literal = literal && bare_literal(t, tl);
        if (!item[n])
            break;
        item += n + 1;
    }
    char *out = malloc(2 * len + 4 * nitems + 3), *o = out;
    if (!out)
        return NULL;
    *o++ = '[';
    for (const char *item = value;;) {
        const char *t;
        size_t tl, n = bare_item(item, &t, &tl);
        if (!literal)
            *o++ = '\'';
        for (size_t i = 0; i < tl; i++) {
            if (!literal && (t[i] == '\'' || t[i] == '\\'))
                *o++ = '\\';
            *o++ = t[i];
        }
        if (!literal)
            *o++ = '\'';
        if (!item[n])
            break;
        *o++ = ',';
        item += n + 1;
    }
    *o++ = ']';
    *o = '\0';
    return out;
}

bool ooc_cli_vars_add(ooc_cli_vars *vars, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "oocsolve: error: --var expects NAME=VALUE, got '%s'\n", arg);
        return false;
    }
    size_t name_len = (size_t)(eq - arg);
    for (size_t i = 0; i < vars->n; i++)
        if (strlen(vars->items[i].name) == name_len &&
            !memcmp(vars->items[i].name, arg, name_len)) {
            fprintf(stderr, "oocsolve: error: --var %.*s is given twice; give each name once\n",
                    (int)name_len, arg);
            return false;
        }
    ooc_formula_var *grown = realloc(vars->items, (vars->n + 1) * sizeof *grown);
    if (!grown)
        return false;
    vars->items = grown;
    char *name = strndup(arg, (size_t)(eq - arg));
    const char *value = eq + 1;
    /* A bare "0,1,2" or "a,b" is a list (bare_list); a literal or call is kept as written. */
    bool written = value[0] == '[' || value[0] == '(' || strchr(value, '(');
    char *copy = written ? strdup(value) : bare_list(value);
    if (!name || !copy) {
        free(name);
        free(copy);
        return false;
    }
    vars->items[vars->n].name = name;
    vars->items[vars->n].value = copy;
    vars->n++;
    return true;
}

void ooc_cli_vars_free(ooc_cli_vars *vars)
{
    for (size_t i = 0; i < vars->n; i++) {
        free((char *)vars->items[i].name);
        free((char *)vars->items[i].value);
    }
    free(vars->items);
    vars->items = NULL;
    vars->n = 0;
}

bool ooc_cli_parse_delimiter(const char *arg, char *out)
{
    if (!strcmp(arg, "tab") || !strcmp(arg, "\\t")) {
        *out = '\t';
        return true;
    }
    if (strlen(arg) != 1) {
        fprintf(stderr, "oocsolve: error: --delimiter must be one character (or 'tab'), got '%s'\n",
                arg);
        return false;
    }
    if (arg[0] == '"') {
        fprintf(stderr, "oocsolve: error: --delimiter cannot be '\"': that is the quote character "
                        "of CSV fields\n");
        return false;
    }
    if (arg[0] == '\n' || arg[0] == '\r') {
        fprintf(stderr, "oocsolve: error: --delimiter cannot be a line end\n");
        return false;
    }
    *out = arg[0];
    return true;
}

bool ooc_cli_parse_na_values(const char *arg, ooc_csv_settings *csv, ooc_cli_na_storage *storage)
{
    ooc_cli_na_storage_free(storage);
    storage->text = strdup(arg);
    size_t n = 1;
    for (const char *c = arg; *c; c++)
        n += *c == ',';
    storage->items = malloc(n * sizeof *storage->items);
    if (!storage->text || !storage->items) {
        fprintf(stderr, "oocsolve: error: out of memory\n");
        return false;
    }
    size_t k = 0;
    char *text = storage->text;
    /* Split by hand so that empty items ("a,,b" or a leading comma) mean the empty string. */
    for (char *start = text;; ) {
        char *comma = strchr(start, ',');
        if (comma)
            *comma = '\0';
        storage->items[k++] = start;
        if (!comma)
            break;
        start = comma + 1;
    }
    csv->na_values = storage->items;
    csv->n_na_values = k;
    return true;
}

void ooc_cli_na_storage_free(ooc_cli_na_storage *storage)
{
    free(storage->text);
    free(storage->items);
    storage->text = NULL;
    storage->items = NULL;
}

bool ooc_cli_parse_missing(const char *arg, ooc_csv_settings *csv)
{
    if (!strcmp(arg, "drop")) {
        csv->missing_is_error = false;
        return true;
    }
    if (!strcmp(arg, "error")) {
        csv->missing_is_error = true;
        return true;
    }
    fprintf(stderr, "oocsolve: error: --missing must be 'drop' or 'error', got '%s'\n", arg);
    return false;
}

bool ooc_cli_parse_keep_default_na(const char *arg, ooc_csv_settings *csv)
{
    if (!strcmp(arg, "true") || !strcmp(arg, "false")) {
        csv->no_default_na = !strcmp(arg, "false");
        return true;
    }
    fprintf(stderr, "oocsolve: error: --keep-default-na must be 'true' or 'false', got '%s'\n",
            arg);
    return false;
}

/* The type a pandas dtype spelling pins, or 0 when it is not one we take. */
static ooc_column_type dtype_kind(const char *name, size_t len)
{
    static const char *const numeric[] = {"float", "float64", "int", "int64"};
    static const char *const categorical[] = {"str", "object", "category"};
    for (size_t i = 0; i < sizeof numeric / sizeof *numeric; i++)
        if (strlen(numeric[i]) == len && !memcmp(numeric[i], name, len))
            return OOC_COLUMN_NUMERIC;
    for (size_t i = 0; i < sizeof categorical / sizeof *categorical; i++)
        if (strlen(categorical[i]) == len && !memcmp(categorical[i], name, len))
            return OOC_COLUMN_CATEGORICAL;
    return 0;
}

bool ooc_cli_dtypes_add(ooc_cli_dtypes *dtypes, const char *arg, ooc_csv_settings *csv)
{
    for (const char *item = arg; ; ) {
        const char *comma = strchr(item, ',');
        size_t len = comma ? (size_t)(comma - item) : strlen(item);
        const char *eq = memchr(item, '=', len);
        ooc_column_type type = eq ? dtype_kind(eq + 1, len - (size_t)(eq - item) - 1) : 0;
        if (!eq || eq == item || !type) {
            fprintf(stderr,
                    "oocsolve: error: --dtype expects NAME=TYPE[,NAME=TYPE...] with TYPE one of "
                    "float, float64, int, int64 (numeric) or str, object, category "
                    "(categorical), got '%.*s'\n",
                    (int)len, item);
            return false;
        }
        ooc_column_dtype *grown = realloc(dtypes->items, (dtypes->n + 1) * sizeof *grown);
        char *name = grown ? strndup(item, (size_t)(eq - item)) : NULL;
        if (grown)
            dtypes->items = grown;
        if (!name) {
            fprintf(stderr, "oocsolve: error: out of memory\n");
            return false;
        }
        dtypes->items[dtypes->n++] = (ooc_column_dtype){name, type};
        if (!comma)
            break;
        item = comma + 1;
    }
    csv->dtypes = dtypes->items;
    csv->ndtypes = dtypes->n;
    return true;
}

void ooc_cli_dtypes_free(ooc_cli_dtypes *dtypes)
{
    for (size_t i = 0; i < dtypes->n; i++)
        free((char *)dtypes->items[i].column);
    free(dtypes->items);
    dtypes->items = NULL;
    dtypes->n = 0;
}

bool ooc_cli_parse_size(const char *option, const char *arg, size_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(arg, &end, 10);
    if (errno || end == arg || *end || arg[0] == '-') {
        fprintf(stderr, "oocsolve: error: %s expects a non-negative integer, got '%s'\n", option,
                arg);
        return false;
    }
    *out = (size_t)v;
    return true;
}

const char *ooc_cli_input_path(const char *arg) { return strcmp(arg, "-") ? arg : "/dev/stdin"; }

/* What an output is, for comparisons: an existing file (device and inode),
 * or a name not yet in its directory (the directory's device and inode, and
 * the name).  `known` is false when neither can be found out (the library
 * then reports why the path cannot be written). */
typedef struct file_identity {
    bool known, exists;
    dev_t dev;
    ino_t ino;
    const char *name;
} file_identity;

static bool same_file(const file_identity *a, const file_identity *b)
{
    return a->known && b->known && a->exists == b->exists && a->dev == b->dev &&
           a->ino == b->ino && (a->exists || !strcmp(a->name, b->name));
}

static const char *file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a FIFO (named pipe)";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* Identify output f; false (message printed) when it must be refused as such. */
static bool identify_output(const ooc_cli_file *f, file_identity *id)
{
    struct stat st;
    *id = (file_identity){0};
    if (!strcmp(f->path, "-")) {
        fprintf(stderr, "oocsolve: error: %s '-': outputs are files (written under a temporary "
                        "name, then renamed into place), not standard output\n", f->what);
        return false;
    }
    if (stat(f->path, &st) == 0) {
        if (!S_ISREG(st.st_mode)) {
            fprintf(stderr,
                    "oocsolve: error: %s '%s' is %s: an output is written under a temporary name "
                    "and renamed over its name, which would replace it; give the name of a "
                    "regular file\n",
                    f->what, f->path, file_kind(st.st_mode));
            return false;
        }
        *id = (file_identity){.known = true, .exists = true, .dev = st.st_dev, .ino = st.st_ino};
        return true;
    }
    const char *slash = strrchr(f->path, '/');
    size_t dir_len = !slash ? 0 : slash == f->path ? 1 : (size_t)(slash - f->path);
    char *dir = slash ? strndup(f->path, dir_len) : strdup(".");
    if (dir && stat(dir, &st) == 0)
        *id = (file_identity){.known = true, .dev = st.st_dev, .ino = st.st_ino,
                              .name = slash ? slash + 1 : f->path};
    free(dir);
    return true;
}

bool ooc_cli_check_outputs(const ooc_cli_file *inputs, size_t ninputs,
                           const ooc_cli_file *outputs, size_t noutputs)
{
    for (size_t i = 0; i < noutputs; i++) {
        const ooc_cli_file *out = &outputs[i];
        file_identity id, earlier;
        if (!out->path)
            continue;
        if (!identify_output(out, &id))
            return false;
        for (size_t k = 0; k < ninputs && id.exists; k++) {
            struct stat st;
            if (inputs[k].path && stat(inputs[k].path, &st) == 0 && st.st_dev == id.dev &&
                st.st_ino == id.ino) {
                fprintf(stderr,
                        "oocsolve: error: %s '%s' is the same file as %s '%s': writing it would "
                        "destroy the input; give another name\n",
                        out->what, out->path, inputs[k].what, inputs[k].path);
                return false;
            }
        }
        for (size_t k = 0; k < i; k++)
            if (outputs[k].path && identify_output(&outputs[k], &earlier) &&
                same_file(&earlier, &id)) {
                fprintf(stderr, "oocsolve: error: %s '%s' and %s '%s' are the same file; give "
                                "them different names\n",
                        outputs[k].what, outputs[k].path, out->what, out->path);
                return false;
            }
    }
    return true;
}
