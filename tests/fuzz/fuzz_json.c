/*
 * fuzz_json.c — libFuzzer target for the JSON reader (json.c), which reads
 * profile traces back for `oocsolve profile-svg` / `profile-summary`.
 *
 * Any input must either parse or fail with OOC_ERR_CORRUPT and a message
 * that gives a line and column; a parsed tree is walked completely (every
 * string must be NUL-terminated within its allocation, which ASan checks)
 * and freed.  Anything else calls __builtin_trap().
 */
#include "base/json.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t walk(const ooc_json_value *v, int depth)
{
    if (depth > 70)
        __builtin_trap(); /* the reader limits nesting to 64 */
    size_t n = 1;
    switch (v->type) {
    case OOC_JSON_STRING: n += strlen(v->string); break;
    case OOC_JSON_ARRAY:
        for (size_t i = 0; i < v->n; i++)
            n += walk(&v->items[i], depth + 1);
        break;
    case OOC_JSON_OBJECT:
        for (size_t i = 0; i < v->n; i++)
            n += strlen(v->members[i].key) + walk(&v->members[i].value, depth + 1);
        break;
    default: break;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ooc_json_value *v = NULL;
    ooc_error err = {0};
    ooc_status st = ooc_json_parse((const char *)data, size, "input", &v, &err);
    if (st == OOC_OK) {
        if (!v)
            __builtin_trap();
        if (walk(v, 0) == 0)
            __builtin_trap();
    } else if (st != OOC_ERR_CORRUPT || v || !strstr(err.message, "line ")) {
        __builtin_trap();
    }
    ooc_json_free(v);
    return 0;
}
