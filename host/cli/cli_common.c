/* cli_common.c — option parsing shared by the oocsolve subcommands. */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool ooc_cli_vars_add(ooc_cli_vars *vars, const char *arg)
{
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg || !eq[1]) {
        fprintf(stderr, "oocsolve: error: --var expects NAME=VALUE, got '%s'\n", arg);
        return false;
    }
    ooc_formula_var *grown = realloc(vars->items, (vars->n + 1) * sizeof *grown);
    if (!grown)
        return false;
    vars->items = grown;
    char *name = strndup(arg, (size_t)(eq - arg));
    const char *value = eq + 1;
    char *copy;
    /* A bare "0,1,2" is the list [0,1,2]; a literal or call is kept as written. */
    if (value[0] == '[' || value[0] == '(' || strchr(value, '(')) {
        copy = strdup(value);
    } else {
        size_t len = strlen(value);
        copy = malloc(len + 3);
        if (copy)
            snprintf(copy, len + 3, "[%s]", value);
    }
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
    if (strlen(arg) != 1 || arg[0] == '"' || arg[0] == '\n' || arg[0] == '\r') {
        fprintf(stderr, "oocsolve: error: --delimiter must be one character (or 'tab'), got '%s'\n",
                arg);
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
