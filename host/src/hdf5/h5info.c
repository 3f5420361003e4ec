/*
 * h5info.c — describe an HDF5 file's root-level objects (h5info.h).
 *
 * Facts are first collected into obj_info records (all HDF5 calls happen
 * there), then formatted either as text or as JSON.
 */
#include "hdf5/h5info.h"

#include "base/error.h"
#include "base/json.h"
#include "base/textbuf.h"
#include "hdf5/h5attr.h"
#include "hdf5/h5join.h"
#include "hdf5/h5util.h"
#include "hdf5/zcodec.h"

#include <errno.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILTERS 16
#define MAX_FILTER_PARAMS 8

typedef struct filter_info {
    int id;
    char name[64];
    size_t nparams;
    unsigned params[MAX_FILTER_PARAMS];
} filter_info;

typedef enum obj_kind { OBJ_DATASET, OBJ_GROUP, OBJ_OTHER } obj_kind;

typedef struct obj_info {
    char *name; /* "/X" */
    obj_kind kind;
    char dtype[48];
    int rank;
    hsize_t dims[H5S_MAX_RANK], maxdims[H5S_MAX_RANK];
    bool chunked;
    const char *layout; /* "chunked", "contiguous", "compact", "virtual" */
    hsize_t chunk[H5S_MAX_RANK];
    hsize_t nchunks;
    int nfilters;
    filter_info filters[MAX_FILTERS];
    char codec[96];         /* ingest's name for the compression ("deflate", "blosc:lz4", ...) */
    uint64_t raw_bytes, stored_bytes;
    char *class_attr;       /* PyTables CLASS, or NULL */
    char *formula;          /* or NULL */
    char **column_names;    /* or NULL */
    size_t ncolumn_names;
    bool column_names_opaque; /* present but not a string array (e.g. a PyTables pickle) */
    ooc_h5_join join;       /* a virtual dataset joining other files' datasets: the parts */
} obj_info;

typedef struct file_info {
    const char *path;
    char *pytables_version; /* root PYTABLES_FORMAT_VERSION, or NULL */
    obj_info *objs;
    size_t nobjs, cap;
} file_info;

/* ---- text --------------------------------------------------------------- */

/* Append `text` for a terminal: control characters shown as \xNN. */
static void sb_plain(ooc_textbuf *b, const char *text)
{
    for (const unsigned char *c = (const unsigned char *)text; *c; c++) {
        if (*c < 0x20 || *c == 0x7f)
            ooc_textbuf_printf(b, "\\x%02x", *c);
        else
            ooc_textbuf_printf(b, "%c", *c);
    }
}

/* ---- collecting ---------------------------------------------------------- */

static void describe_type(hid_t type, char *out, size_t outsize)
{
    H5T_class_t cls = H5Tget_class(type);
    size_t bits = H5Tget_size(type) * 8;
    const char *order = H5Tget_order(type) == H5T_ORDER_BE ? " (big-endian)" : "";
    switch (cls) {
    case H5T_FLOAT: snprintf(out, outsize, "float%zu%s", bits, order); break;
    case H5T_INTEGER:
        snprintf(out, outsize, "%sint%zu%s", H5Tget_sign(type) == H5T_SGN_NONE ? "u" : "", bits,
                 order);
        break;
    case H5T_STRING: snprintf(out, outsize, "string"); break;
    case H5T_COMPOUND: snprintf(out, outsize, "compound"); break;
    case H5T_ENUM: snprintf(out, outsize, "enum"); break;
    default: snprintf(out, outsize, "other (HDF5 class %d)", (int)cls); break;
    }
}

/* Read `column_names` when it is a 1-D array of strings (fixed or variable
 * length); one of another kind (e.g. a PyTables pickle) is only marked
 * opaque, and an absent one leaves oi as it is. */
static ooc_status read_column_names(const ooc_h5_obj *dataset, obj_info *oi, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_attr_info info;
    OOC_CHECK(ooc_h5_attr_inspect(dataset, "column_names", &info, err));
    oi->column_names_opaque = info.exists && (!info.strings || info.rank != 1);
    if (info.exists && !oi->column_names_opaque)
        OOC_CHECK(ooc_h5_attr_read_strings(dataset, "column_names", &oi->column_names,
                                           &oi->ncolumn_names, err));
out:
    return status;
}

/* Name of filter `id` for the listing: the conventional one when known, else
 * the name its plugin registered, else "unknown". */
static const char *filter_label(int id, const char *registered)
{
    const char *name = ooc_h5_filter_name((H5Z_filter_t)id);
    if (name)
        return name;
    return registered[0] ? registered : "unknown";
}

/* Blosc's compressor code in a filter's parameters (the filter's default,
 * blosclz, when they do not say), and its name ("code N" when unknown). */
static const char *blosc_compressor(const filter_info *f, char *buf, size_t cap)
{
    unsigned code = f->nparams >= OOC_BLOSC_NPARAMS ? f->params[6] : 0;
    const char *name = ooc_blosc_compressor_name((int)code);
    if (name)
        return name;
    snprintf(buf, cap, "code %u", code);
    return buf;
}

/* The dataset's compression as ingest's --codec names it: "deflate",
 * "blosc:lz4", ...; other compressing filters by name, joined with '+'
 * when there are several; "none" when nothing compresses (shuffle and
 * fletcher32 do not). */
static void describe_codec(obj_info *oi)
{
    size_t used = 0;
    oi->codec[0] = '\0';
    for (int i = 0; i < oi->nfilters; i++) {
        const filter_info *f = &oi->filters[i];
        char code[24];
        if (f->id == H5Z_FILTER_SHUFFLE || f->id == H5Z_FILTER_FLETCHER32)
            continue;
        int n = f->id == OOC_H5Z_FILTER_BLOSC
                    ? snprintf(oi->codec + used, sizeof oi->codec - used, "%sblosc:%s",
                               used ? "+" : "", blosc_compressor(f, code, sizeof code))
                    : snprintf(oi->codec + used, sizeof oi->codec - used, "%s%s", used ? "+" : "",
                               f->name);
        if (n < 0 || (size_t)n >= sizeof oi->codec - used)
            break;
        used += (size_t)n;
    }
    if (!oi->codec[0])
        snprintf(oi->codec, sizeof oi->codec, "none");
}

/* Collect the facts of dataset `name` (opened as dset). */
static ooc_status inspect_dataset(const char *path, hid_t dset, obj_info *oi, ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t type = H5I_INVALID_HID, space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;

    type = H5Dget_type(dset);
    space = H5Dget_space(dset);
    dcpl = H5Dget_create_plist(dset);
    OOC_H5_FAIL_IF(type < 0 || space < 0 || dcpl < 0, err, "'%s': cannot query dataset '%s'",
                   path, oi->name);
    describe_type(type, oi->dtype, sizeof oi->dtype);
    oi->rank = H5Sget_simple_extent_ndims(space);
    OOC_H5_FAIL_IF(oi->rank < 0 || H5Sget_simple_extent_dims(space, oi->dims, oi->maxdims) < 0,
                   err, "'%s': cannot read the shape of '%s'", path, oi->name);
    uint64_t nelem = 1;
    for (int k = 0; k < oi->rank; k++)
        nelem *= oi->dims[k];
    oi->raw_bytes = nelem * H5Tget_size(type);

    H5D_layout_t layout = H5Pget_layout(dcpl);
    OOC_H5_FAIL_IF(layout < 0, err, "'%s': cannot read the layout of '%s'", path, oi->name);
    oi->layout = layout == H5D_CHUNKED      ? "chunked"
                 : layout == H5D_CONTIGUOUS ? "contiguous"
                 : layout == H5D_COMPACT    ? "compact"
                                            : "virtual";
    oi->chunked = layout == H5D_CHUNKED;
    if (oi->chunked) {
        OOC_H5_FAIL_IF(H5Pget_chunk(dcpl, H5S_MAX_RANK, oi->chunk) < 0, err,
                       "'%s': cannot read the chunk shape of '%s'", path, oi->name);
        OOC_H5_FAIL_IF(H5Dget_num_chunks(dset, space, &oi->nchunks) < 0, err,
                       "'%s': cannot read the chunk index of '%s'", path, oi->name);
    }
    /* 0 is both "nothing stored yet" and the failure value: the stack tells. */
    oi->stored_bytes = H5Dget_storage_size(dset);
    OOC_H5_FAIL_IF(oi->stored_bytes == 0 && H5Eget_num(H5E_DEFAULT) != 0, err,
                   "'%s': cannot read the stored size of '%s'", path, oi->name);
    int nfilters = H5Pget_nfilters(dcpl);
    OOC_H5_FAIL_IF(nfilters < 0, err, "'%s': cannot read the filters of '%s'", path, oi->name);
    oi->nfilters = nfilters < MAX_FILTERS ? nfilters : MAX_FILTERS;
    for (int i = 0; i < oi->nfilters; i++) {
        filter_info *fi = &oi->filters[i];
        unsigned flags = 0, config = 0;
        char registered[64] = "";
        fi->nparams = MAX_FILTER_PARAMS;
        H5Z_filter_t id = H5Pget_filter2(dcpl, (unsigned)i, &flags, &fi->nparams, fi->params,
                                         sizeof registered, registered, &config);
        OOC_H5_FAIL_IF(id < 0, err, "'%s': cannot read filter %d of '%s'", path, i, oi->name);
        if (fi->nparams > MAX_FILTER_PARAMS)
            fi->nparams = MAX_FILTER_PARAMS;
        fi->id = (int)id;
        snprintf(fi->name, sizeof fi->name, "%s", filter_label(fi->id, registered));
    }
    describe_codec(oi);
out:
    status = ooc_h5_close(&dcpl, status, err);
    status = ooc_h5_close(&space, status, err);
    return ooc_h5_close(&type, status, err);
}

/* Collect the facts of one root-level link. */
static ooc_status inspect_object(const char *path, hid_t file, const char *link, obj_info *oi,
                                 ooc_error *err)
{
    ooc_status status = OOC_OK;
    hid_t obj = H5I_INVALID_HID;
    size_t n = strlen(link) + 2;
    oi->name = malloc(n);
    OOC_FAIL_IF(!oi->name, err, OOC_ERR_NOMEM, "out of memory");
    snprintf(oi->name, n, "/%s", link);
    oi->kind = OBJ_OTHER;
    H5L_info_t linfo;
    OOC_H5_FAIL_IF(H5Lget_info(file, link, &linfo, H5P_DEFAULT) < 0, err,
                   "'%s': cannot read the link '%s'", path, oi->name);
    obj = H5Oopen(file, link, H5P_DEFAULT);
    /* A dangling soft or external link is listed as "other"; a hard link
     * always names an object, so failing to open one is damage. */
    OOC_H5_FAIL_IF(obj < 0 && linfo.type == H5L_TYPE_HARD, err,
                   "'%s': cannot open '%s'", path, oi->name);
    if (obj < 0)
        goto out;
    H5I_type_t t = H5Iget_type(obj);
    if (t == H5I_GROUP)
        oi->kind = OBJ_GROUP;
    if (t != H5I_DATASET)
        goto out;
    oi->kind = OBJ_DATASET;
    OOC_CHECK(inspect_dataset(path, obj, oi, err));
    const ooc_h5_obj dataset = {obj, oi->name, path};
    OOC_CHECK(ooc_h5_attr_read_string(&dataset, "CLASS", &oi->class_attr, err));
    OOC_CHECK(ooc_h5_attr_read_string(&dataset, "formula", &oi->formula, err));
    OOC_CHECK(read_column_names(&dataset, oi, err));
    if (strcmp(oi->layout, "virtual") == 0)
        OOC_CHECK(ooc_h5_join_probe(path, file, oi->name, &oi->join, err));
out:
    return ooc_h5_close(&obj, status, err);
}

typedef struct link_list {
    char **names;
    size_t n, cap;
    bool oom;
} link_list;

static herr_t collect_link(hid_t group, const char *name, const H5L_info_t *info, void *data)
{
    link_list *l = data;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        char **names = realloc(l->names, cap * sizeof *names);
        if (!names) {
            l->oom = true;
            return -1;
        }
        l->names = names;
        l->cap = cap;
    }
    if (!(l->names[l->n] = strdup(name))) {
        l->oom = true;
        return -1;
    }
    l->n++;
    return 0;
}

static void free_file_info(file_info *fi)
{
    for (size_t i = 0; i < fi->nobjs; i++) {
        obj_info *oi = &fi->objs[i];
        free(oi->name);
        free(oi->class_attr);
        free(oi->formula);
        ooc_h5_strings_free(oi->column_names, oi->ncolumn_names);
        ooc_h5_join_free(&oi->join);
    }
    free(fi->objs);
    free(fi->pytables_version);
}

static ooc_status inspect_file(const char *path, file_info *fi, ooc_error *err)
{
    ooc_status status = OOC_OK;
    ooc_h5_quiet quiet;
    hid_t file = H5I_INVALID_HID;
    link_list links = {0};
    struct stat st;

    memset(fi, 0, sizeof *fi);
    fi->path = path;
    ooc_h5_quiet_begin(&quiet);
    OOC_FAIL_IF(stat(path, &st) != 0, err, OOC_ERR_IO, "cannot open '%s': %s", path,
                strerror(errno));
    OOC_FAIL_IF(S_ISDIR(st.st_mode), err, OOC_ERR_IO, "'%s' is a directory", path);
    htri_t is_hdf5 = H5Fis_hdf5(path);
    OOC_FAIL_IF(is_hdf5 == 0, err, OOC_ERR_HDF5, "'%s' is not an HDF5 file", path);
    OOC_H5_FAIL_IF(is_hdf5 < 0, err, "cannot read '%s'", path);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    OOC_H5_FAIL_IF(file < 0, err, "cannot open HDF5 file '%s'", path);
    const ooc_h5_obj root = {file, "/", path};
    OOC_CHECK(
        ooc_h5_attr_read_string(&root, "PYTABLES_FORMAT_VERSION", &fi->pytables_version, err));
    herr_t rc = H5Literate(file, H5_INDEX_NAME, H5_ITER_INC, NULL, collect_link, &links);
    OOC_FAIL_IF(links.oom, err, OOC_ERR_NOMEM, "out of memory");
    OOC_H5_FAIL_IF(rc < 0, err, "'%s': cannot list the root group", path);
    fi->objs = calloc(links.n ? links.n : 1, sizeof *fi->objs);
    OOC_FAIL_IF(!fi->objs, err, OOC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < links.n; i++) {
        fi->nobjs++;
        OOC_CHECK(inspect_object(path, file, links.names[i], &fi->objs[i], err));
    }
out:
    for (size_t i = 0; i < links.n; i++)
        free(links.names[i]);
    free(links.names);
    status = ooc_h5_close(&file, status, err);
    ooc_h5_quiet_end(&quiet);
    if (status != OOC_OK)
        free_file_info(fi);
    return status;
}

/* ---- formatting ---------------------------------------------------------- */

/* "10, 2": the extents separated by ", ", an unlimited one as `unlimited`. */
static void sb_dims(ooc_textbuf *b, const hsize_t *dims, int rank, const char *unlimited)
{
    for (int k = 0; k < rank; k++) {
        if (dims[k] == H5S_UNLIMITED)
            ooc_textbuf_printf(b, "%s%s", k ? ", " : "", unlimited);
        else
            ooc_textbuf_printf(b, "%s%llu", k ? ", " : "", (unsigned long long)dims[k]);
    }
}

/* "(10, 2)", "(10,)"; unlimited dimensions as "unlimited". */
static void sb_shape(ooc_textbuf *b, const hsize_t *dims, int rank)
{
    ooc_textbuf_printf(b, "(");
    sb_dims(b, dims, rank, "unlimited");
    ooc_textbuf_printf(b, "%s)", rank == 1 ? "," : "");
}

static void sb_filter_text(ooc_textbuf *b, const filter_info *f)
{
    ooc_textbuf_printf(b, "%s", f->name);
    if (f->id == H5Z_FILTER_DEFLATE && f->nparams >= 1) {
        ooc_textbuf_printf(b, "(level=%u)", f->params[0]);
    } else if (f->id == H5Z_FILTER_SHUFFLE && f->nparams >= 1) {
        ooc_textbuf_printf(b, "(element_size=%u)", f->params[0]);
    } else if (f->id == OOC_H5Z_FILTER_BLOSC && f->nparams >= OOC_BLOSC_NPARAMS) {
        static const char *const shuffles[] = {"none", "byte", "bit"};
        char code[24];
        ooc_textbuf_printf(b, "(compressor=%s, level=%u, shuffle=%s, element_size=%u)",
                           blosc_compressor(f, code, sizeof code), f->params[4],
                           f->params[5] < 3 ? shuffles[f->params[5]] : "unknown", f->params[2]);
    } else if (f->nparams > 0) {
        ooc_textbuf_printf(b, "(");
        for (size_t i = 0; i < f->nparams; i++)
            ooc_textbuf_printf(b, "%s%u", i ? ", " : "", f->params[i]);
        ooc_textbuf_printf(b, ")");
    }
}

static void format_text(const file_info *fi, ooc_textbuf *b)
{
    ooc_textbuf_printf(b, "%s: HDF5 file", fi->path);
    if (fi->pytables_version)
        ooc_textbuf_printf(b, " (PyTables format %s)", fi->pytables_version);
    ooc_textbuf_printf(b, ", %zu object%s at the root\n", fi->nobjs, fi->nobjs == 1 ? "" : "s");
    for (size_t i = 0; i < fi->nobjs; i++) {
        const obj_info *oi = &fi->objs[i];
        if (oi->kind != OBJ_DATASET) {
            ooc_textbuf_printf(b, "%s  %s\n", oi->name,
                               oi->kind == OBJ_GROUP ? "group" : "other object");
            continue;
        }
        ooc_textbuf_printf(b, "%s  dataset %s, shape ", oi->name, oi->dtype);
        sb_shape(b, oi->dims, oi->rank);
        ooc_textbuf_printf(b, ", max ");
        sb_shape(b, oi->maxdims, oi->rank);
        if (oi->class_attr) {
            ooc_textbuf_printf(b, ", PyTables ");
            sb_plain(b, oi->class_attr);
        }
        ooc_textbuf_printf(b, "\n    layout: %s", oi->layout);
        if (oi->chunked) {
            ooc_textbuf_printf(b, ", chunks ");
            sb_shape(b, oi->chunk, oi->rank);
            ooc_textbuf_printf(b, ", %llu chunk%s", (unsigned long long)oi->nchunks,
                               oi->nchunks == 1 ? "" : "s");
        }
        if (oi->join.nparts)
            ooc_textbuf_printf(b, ", joining %zu part%s", oi->join.nparts,
                               oi->join.nparts == 1 ? "" : "s");
        for (size_t k = 0; k < oi->join.nparts; k++) {
            ooc_textbuf_printf(b, "\n      ");
            sb_plain(b, oi->join.paths[k]);
            ooc_textbuf_printf(b, ": %llu rows", (unsigned long long)oi->join.rows[k]);
        }
        if (oi->join.problem) {
            ooc_textbuf_printf(b, "\n    warning: ");
            sb_plain(b, oi->join.problem);
        }
        ooc_textbuf_printf(b, "\n    filters: ");
        if (oi->nfilters == 0)
            ooc_textbuf_printf(b, "none");
        for (int k = 0; k < oi->nfilters; k++) {
            if (k)
                ooc_textbuf_printf(b, ", ");
            sb_filter_text(b, &oi->filters[k]);
        }
        ooc_textbuf_printf(b, "\n    codec: %s", oi->codec);
        ooc_textbuf_printf(b, "\n    bytes: %llu raw, %llu stored",
                           (unsigned long long)oi->raw_bytes, (unsigned long long)oi->stored_bytes);
        if (oi->stored_bytes > 0)
            ooc_textbuf_printf(b, " (ratio %.3f)",
                               (double)oi->raw_bytes / (double)oi->stored_bytes);
        ooc_textbuf_printf(b, "\n");
        if (oi->formula) {
            ooc_textbuf_printf(b, "    formula: ");
            sb_plain(b, oi->formula);
            ooc_textbuf_printf(b, "\n");
        }
        if (oi->column_names) {
            ooc_textbuf_printf(b, "    column_names (%zu):", oi->ncolumn_names);
            for (size_t j = 0; j < oi->ncolumn_names; j++) {
                ooc_textbuf_printf(b, "%s ", j ? "," : "");
                sb_plain(b, oi->column_names[j]);
            }
            ooc_textbuf_printf(b, "\n");
        } else if (oi->column_names_opaque) {
            ooc_textbuf_printf(b, "    column_names: present but not an array of strings "
                         "(e.g. a pickled Python object)\n");
        }
    }
}

/* JSON array of extents, an unlimited one as null. */
static void sb_json_dims(ooc_textbuf *b, const hsize_t *dims, int rank)
{
    ooc_textbuf_printf(b, "[");
    sb_dims(b, dims, rank, "null");
    ooc_textbuf_printf(b, "]");
}

static void format_json(const file_info *fi, ooc_textbuf *b)
{
    ooc_textbuf_printf(b, "{\"file\": ");
    ooc_json_append_string(b, fi->path);
    ooc_textbuf_printf(b, ", \"pytables_format_version\": ");
    ooc_json_append_string(b, fi->pytables_version);
    ooc_textbuf_printf(b, ", \"objects\": [");
    for (size_t i = 0; i < fi->nobjs; i++) {
        const obj_info *oi = &fi->objs[i];
        ooc_textbuf_printf(b, "%s\n  {\"name\": ", i ? "," : "");
        ooc_json_append_string(b, oi->name);
        ooc_textbuf_printf(b, ", \"type\": \"%s\"", oi->kind == OBJ_DATASET ? "dataset"
                                                    : oi->kind == OBJ_GROUP ? "group"
                                                                            : "other");
        if (oi->kind != OBJ_DATASET) {
            ooc_textbuf_printf(b, "}");
            continue;
        }
        ooc_textbuf_printf(b, ", \"dtype\": ");
        ooc_json_append_string(b, oi->dtype);
        ooc_textbuf_printf(b, ", \"shape\": ");
        sb_json_dims(b, oi->dims, oi->rank);
        ooc_textbuf_printf(b, ", \"maxshape\": ");
        sb_json_dims(b, oi->maxdims, oi->rank);
        ooc_textbuf_printf(b, ", \"layout\": \"%s\", \"chunks\": ", oi->layout);
        if (oi->chunked) {
            sb_json_dims(b, oi->chunk, oi->rank);
            ooc_textbuf_printf(b, ", \"nchunks\": %llu", (unsigned long long)oi->nchunks);
        } else {
            ooc_textbuf_printf(b, "null, \"nchunks\": null");
        }
        ooc_textbuf_printf(b, ", \"parts\": ");
        if (oi->join.nparts) {
            for (size_t k = 0; k < oi->join.nparts; k++) {
                ooc_textbuf_printf(b, "%s{\"file\": ", k ? ", " : "[");
                ooc_json_append_string(b, oi->join.paths[k]);
                ooc_textbuf_printf(b, ", \"rows\": %llu}", (unsigned long long)oi->join.rows[k]);
            }
            ooc_textbuf_printf(b, "]");
        } else {
            ooc_textbuf_printf(b, "null");
        }
        ooc_textbuf_printf(b, ", \"parts_problem\": ");
        ooc_json_append_string(b, oi->join.problem);
        ooc_textbuf_printf(b, ", \"filters\": [");
        for (int k = 0; k < oi->nfilters; k++) {
            const filter_info *f = &oi->filters[k];
            ooc_textbuf_printf(b, "%s{\"id\": %d, \"name\": ", k ? ", " : "", f->id);
            ooc_json_append_string(b, f->name);
            ooc_textbuf_printf(b, ", \"params\": [");
            for (size_t j = 0; j < f->nparams; j++)
                ooc_textbuf_printf(b, "%s%u", j ? ", " : "", f->params[j]);
            ooc_textbuf_printf(b, "]}");
        }
        ooc_textbuf_printf(b, "], \"codec\": ");
        ooc_json_append_string(b, oi->codec);
        ooc_textbuf_printf(b, ", \"raw_bytes\": %llu, \"stored_bytes\": %llu, \"ratio\": ",
                           (unsigned long long)oi->raw_bytes, (unsigned long long)oi->stored_bytes);
        if (oi->stored_bytes > 0)
            ooc_textbuf_printf(b, "%.6g", (double)oi->raw_bytes / (double)oi->stored_bytes);
        else
            ooc_textbuf_printf(b, "null");
        ooc_textbuf_printf(b, ", \"class\": ");
        ooc_json_append_string(b, oi->class_attr);
        ooc_textbuf_printf(b, ", \"formula\": ");
        ooc_json_append_string(b, oi->formula);
        ooc_textbuf_printf(b, ", \"column_names\": ");
        if (oi->column_names) {
            ooc_textbuf_printf(b, "[");
            for (size_t j = 0; j < oi->ncolumn_names; j++) {
                ooc_textbuf_printf(b, "%s", j ? ", " : "");
                ooc_json_append_string(b, oi->column_names[j]);
            }
            ooc_textbuf_printf(b, "]");
        } else {
            ooc_textbuf_printf(b, "null");
        }
        ooc_textbuf_printf(b, "}");
    }
    ooc_textbuf_printf(b, "\n]}\n");
}

/* Inspect and format with `format`; shared by both public functions. */
static ooc_status describe(const char *path, bool json, char **out, ooc_error *err)
{
    file_info fi;
    ooc_textbuf b = {0};
    *out = NULL;
    if (!path)
        return OOC_FAIL(err, OOC_ERR_INVALID_ARG, "describe: no file name");
    ooc_status status = inspect_file(path, &fi, err);
    if (status != OOC_OK)
        return status;
    if (json)
        format_json(&fi, &b);
    else
        format_text(&fi, &b);
    free_file_info(&fi);
    return ooc_textbuf_take(&b, out, err, "describing '%s'", path);
}

ooc_status ooc_h5_describe(const char *path, char **text_out, ooc_error *err)
{
    return describe(path, false, text_out, err);
}

ooc_status ooc_h5_describe_json(const char *path, char **json_out, ooc_error *err)
{
    return describe(path, true, json_out, err);
}
