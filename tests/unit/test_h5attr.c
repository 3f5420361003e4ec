/*
 * test_h5attr.c — the HDF5 attribute helpers (h5attr.h) and the output file
 * written under a temporary name (outfile.h).
 *
 * Attributes: every kind the writers make (scalar fixed-length strings, ""
 * as a null dataspace, UTF-8, 1-D variable-length strings, empty arrays,
 * int32/int64/float64 scalars and arrays) is read back, and its stored type
 * checked against what PyTables/h5py write; fixed-length strings written
 * with the plain C API (NULLPAD, SPACEPAD, full width) read back trimmed;
 * absent and non-string attributes; errors name attribute, object and file.
 * With $OOC_PYTHON (the venv's Python, set by ctest) a file written by h5py
 * is read here, and a file written here is read by h5py.
 *
 * Outfile: commit renames into place, abort leaves nothing, a failing
 * rename (the target is a directory) removes the temporary file and reports
 * OOC_ERR_IO with both paths, long names are cut at a UTF-8 boundary, and a
 * temporary file created again by name (H5Fcreate) commits as HDF5.
 *
 * Everything happens in a fresh directory test_h5attr.XXXXXX under the
 * working directory, removed at the end.
 */
#include "base/error.h"
#include "base/outfile.h"
#include "hdf5/h5attr.h"
#include "hdf5/h5util.h"
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <limits.h>
#include <spawn.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static char workdir[64]; /* test_h5attr.XXXXXX */

/* workdir/name in buf. */
static const char *in_workdir(char *buf, size_t size, const char *name)
{
    snprintf(buf, size, "%s/%s", workdir, name);
    return buf;
}

/* Number of entries in directory `dir` other than . and .. (-1 on failure). */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* Remove `path` and, when it is a directory, everything under it. */
static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d) {
        for (struct dirent *e; (e = readdir(d));) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            char child[PATH_MAX];
            snprintf(child, sizeof child, "%s/%s", path, e->d_name);
            remove_tree(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static bool file_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* ---- attribute round trips --------------------------------------------- */

/* The stored type of attribute `name` of obj (caller closes), or -1. */
static hid_t stored_type(hid_t obj, const char *name)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    if (attr < 0)
        return -1;
    hid_t type = H5Aget_type(attr);
    H5Aclose(attr);
    return type;
}

/* The dataspace class of attribute `name` of obj. */
static H5S_class_t stored_space_class(hid_t obj, const char *name)
{
    hid_t attr = H5Aopen(obj, name, H5P_DEFAULT);
    hid_t space = attr >= 0 ? H5Aget_space(attr) : -1;
    H5S_class_t c = space >= 0 ? H5Sget_simple_extent_type(space) : H5S_NO_CLASS;
    if (space >= 0)
        H5Sclose(space);
    if (attr >= 0)
        H5Aclose(attr);
    return c;
}

/* Read attribute `name` of obj as strings and compare with want[0..n-1]. */
static void check_strings(const ooc_h5_obj *obj, const char *name, const char *const *want,
                          size_t n)
{
    ooc_error err = {0};
    char **values = NULL;
    size_t count = 99;
    ooc_status st = ooc_h5_attr_read_strings(obj, name, &values, &count, &err);
    CHECK_MSG(st == OOC_OK, "%s: %s", name, err.message);
    CHECK_MSG(values != NULL, "%s: present attribute read as absent", name);
    CHECK_MSG(count == n, "%s: %zu strings, expected %zu", name, count, n);
    for (size_t i = 0; values && i < n && i < count; i++)
        CHECK_STREQ(values[i], want[i]);
    ooc_h5_strings_free(values, count);
}

/* Read attribute `name` of obj with the scalar reader: want NULL = not read. */
static void check_scalar(const ooc_h5_obj *obj, const char *name, const char *want)
{
    ooc_error err = {0};
    char *value = (char *)"unset";
    ooc_status st = ooc_h5_attr_read_string(obj, name, &value, &err);
    CHECK_MSG(st == OOC_OK, "%s: %s", name, err.message);
    if (want && value)
        CHECK_STREQ(value, want);
    else
        CHECK_MSG(!want == !value, "%s: expected %s, got %s", name, want ? want : "(none)",
                  value ? value : "(none)");
    free(value);
}

static void check_info(const ooc_h5_obj *obj, const char *name, bool exists, bool strings,
                       int rank)
{
    ooc_error err = {0};
    ooc_h5_attr_info info;
    CHECK_MSG(ooc_h5_attr_inspect(obj, name, &info, &err) == OOC_OK, "%s", err.message);
    CHECK_MSG(info.exists == exists && info.strings == strings && info.rank == rank,
              "%s: exists %d strings %d rank %d", name, info.exists, info.strings, info.rank);
}

/* A message names the attribute, the object and the file. */
static void check_names_all(const ooc_error *err, const char *attr, const char *obj,
                            const char *file)
{
    CHECK_MSG(strstr(err->message, attr) && strstr(err->message, obj) &&
                  strstr(err->message, file),
              "message does not name '%s' of '%s' in '%s': %s", attr, obj, file, err->message);
}

/* The string writers: stored types exactly as h5write.c has always written them. */
static void test_string_round_trips(const ooc_h5_obj *x)
{
    ooc_error err = {0};
    CHECK(ooc_h5_attr_put_string(x, "CLASS", "EARRAY", H5T_CSET_ASCII, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_string(x, "TITLE", "", H5T_CSET_ASCII, &err) == OOC_OK);
    const char *formula = "y ~ log(\xc3\xa4) + \xe6\x97\xa5"; /* ä, 日 */
    CHECK(ooc_h5_attr_put_string(x, "formula", formula, H5T_CSET_UTF8, &err) == OOC_OK);
    const char *names[] = {"a", "\xce\xb2 (beta)", ""};
    CHECK(ooc_h5_attr_put_strings(x, "column_names", names, 3, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_strings(x, "no_names", NULL, 0, &err) == OOC_OK);
    CHECK_MSG(err.status == OOC_OK, "%s", err.message);

    hid_t t = stored_type(x->id, "CLASS"); /* PyTables: fixed strlen, NULLTERM */
    CHECK(t >= 0 && H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0 &&
          H5Tget_size(t) == 6 && H5Tget_strpad(t) == H5T_STR_NULLTERM &&
          H5Tget_cset(t) == H5T_CSET_ASCII);
    H5Tclose(t);
    CHECK(stored_space_class(x->id, "CLASS") == H5S_SCALAR);
    CHECK(stored_space_class(x->id, "TITLE") == H5S_NULL);
    t = stored_type(x->id, "TITLE");
    CHECK(t >= 0 && H5Tget_size(t) == 1 && H5Tget_strpad(t) == H5T_STR_NULLTERM);
    H5Tclose(t);
    t = stored_type(x->id, "formula");
    CHECK(t >= 0 && H5Tget_cset(t) == H5T_CSET_UTF8 && H5Tget_size(t) == strlen(formula));
    H5Tclose(t);
    t = stored_type(x->id, "column_names"); /* h5py: vlen UTF-8 */
    CHECK(t >= 0 && H5Tis_variable_str(t) > 0 && H5Tget_cset(t) == H5T_CSET_UTF8);
    H5Tclose(t);

    check_scalar(x, "CLASS", "EARRAY");
    check_scalar(x, "TITLE", "");
    check_scalar(x, "formula", formula);
    check_scalar(x, "column_names", NULL); /* an array: not a scalar string */
    check_scalar(x, "absent", NULL);
    check_strings(x, "CLASS", (const char *[]){"EARRAY"}, 1);
    check_strings(x, "TITLE", NULL, 0);
    check_strings(x, "formula", &formula, 1);
    check_strings(x, "column_names", names, 3);
    check_strings(x, "no_names", NULL, 0);
    check_info(x, "CLASS", true, true, 0);
    check_info(x, "TITLE", true, true, 0);
    check_info(x, "column_names", true, true, 1);
    check_info(x, "no_names", true, true, 1);
    check_info(x, "absent", false, false, 0);

    char **values = (char **)&err;
    size_t count = 99;
    CHECK(ooc_h5_attr_read_strings(x, "absent", &values, &count, &err) == OOC_OK);
    CHECK(values == NULL && count == 0);

    /* Writing an attribute twice fails, naming it. */
    ooc_error dup = {0};
    CHECK(ooc_h5_attr_put_string(x, "CLASS", "AGAIN", H5T_CSET_ASCII, &dup) == OOC_ERR_HDF5);
    check_names_all(&dup, "'CLASS'", "'/X'", x->file);
    ooc_error dup2 = {0};
    CHECK(ooc_h5_attr_put_strings(x, "column_names", names, 1, &dup2) == OOC_ERR_HDF5);
    check_names_all(&dup2, "'column_names'", "'/X'", x->file);
    CHECK(H5Eget_num(H5E_DEFAULT) == 0); /* the failure left the stack empty */
}

/* The numeric writers: little-endian stored types, values back exactly. */
static void test_number_round_trips(const ooc_h5_obj *x)
{
    ooc_error err = {0};
    const int32_t extdim = 0;
    const int64_t big = INT64_C(-9007199254740993);
    const int64_t counts[] = {1, INT64_MAX, -7};
    const double tol[] = {1e-300, -0.0, 0.1, 1.0 / 3.0};
    CHECK(ooc_h5_attr_put_number(x, "EXTDIM", OOC_H5_INT32, &extdim, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_number(x, "nrows", OOC_H5_INT64, &big, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_number(x, "tol", OOC_H5_FLOAT64, &tol[3], &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_numbers(x, "counts", OOC_H5_INT64, counts, 3, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_numbers(x, "tols", OOC_H5_FLOAT64, tol, 4, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_numbers(x, "none", OOC_H5_FLOAT64, NULL, 0, &err) == OOC_OK);
    CHECK_MSG(err.status == OOC_OK, "%s", err.message);

    struct {
        const char *name;
        hid_t file_type, mem_type;
        H5S_class_t space;
        hssize_t n;
        const void *want;
        size_t nbytes;
    } cases[] = {
        {"EXTDIM", H5T_STD_I32LE, H5T_NATIVE_INT32, H5S_SCALAR, 1, &extdim, sizeof extdim},
        {"nrows", H5T_STD_I64LE, H5T_NATIVE_INT64, H5S_SCALAR, 1, &big, sizeof big},
        {"tol", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5S_SCALAR, 1, &tol[3], sizeof(double)},
        {"counts", H5T_STD_I64LE, H5T_NATIVE_INT64, H5S_SIMPLE, 3, counts, sizeof counts},
        {"tols", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5S_SIMPLE, 4, tol, sizeof tol},
        {"none", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, H5S_SIMPLE, 0, NULL, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hid_t attr = H5Aopen(x->id, cases[i].name, H5P_DEFAULT);
        hid_t type = H5Aget_type(attr), space = H5Aget_space(attr);
        CHECK_MSG(H5Tequal(type, cases[i].file_type) > 0, "%s: stored type", cases[i].name);
        CHECK_MSG(H5Sget_simple_extent_type(space) == cases[i].space &&
                      H5Sget_simple_extent_npoints(space) == cases[i].n,
                  "%s: shape", cases[i].name);
        unsigned char got[64] = {0};
        if (cases[i].n > 0) {
            CHECK(H5Aread(attr, cases[i].mem_type, got) >= 0);
            CHECK_MSG(memcmp(got, cases[i].want, cases[i].nbytes) == 0, "%s: values",
                      cases[i].name);
        }
        H5Sclose(space);
        H5Tclose(type);
        H5Aclose(attr);
        check_info(x, cases[i].name, true, false, cases[i].space == H5S_SCALAR ? 0 : 1);
        check_scalar(x, cases[i].name, NULL); /* not a string: nothing, no error */
    }

    /* Numbers are not strings to the array reader. */
    char **values = NULL;
    size_t count = 0;
    ooc_error e = {0};
    CHECK(ooc_h5_attr_read_strings(x, "counts", &values, &count, &e) == OOC_ERR_HDF5);
    CHECK(values == NULL && count == 0);
    check_names_all(&e, "'counts'", "'/X'", x->file);
    CHECK(strstr(e.message, "does not hold strings") != NULL);
    ooc_error bad = {0};
    CHECK(ooc_h5_attr_put_number(x, "bad", (ooc_h5_number)42, &extdim, &bad) ==
          OOC_ERR_INVALID_ARG);
    check_names_all(&bad, "'bad'", "'/X'", x->file);
}

/* Fixed-length strings as other writers store them: padding stripped, a
 * string that fills its width kept whole, a 2-D array read in row-major
 * order. */
static void test_fixed_strings_from_c(const ooc_h5_obj *x)
{
    struct {
        const char *name;
        H5T_str_t pad;
        const char *data; /* 2 strings of width 4 */
        const char *want[2];
    } cases[] = {
        {"nullpad", H5T_STR_NULLPAD, "abcdx\0\0\0", {"abcd", "x"}},
        {"spacepad", H5T_STR_SPACEPAD, "ab  abcd", {"ab", "abcd"}},
        {"nullterm", H5T_STR_NULLTERM, "abc\0z\0\0\0", {"abc", "z"}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        hsize_t dims[1] = {2};
        hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, 4);
        H5Tset_strpad(type, cases[i].pad);
        hid_t space = H5Screate_simple(1, dims, NULL);
        hid_t attr = H5Acreate2(x->id, cases[i].name, type, space, H5P_DEFAULT, H5P_DEFAULT);
        CHECK(attr >= 0 && H5Awrite(attr, type, cases[i].data) >= 0);
        H5Aclose(attr);
        H5Sclose(space);
        H5Tclose(type);
        check_strings(x, cases[i].name, cases[i].want, 2);
    }
    hsize_t dims2[2] = {2, 2};
    hid_t type = H5Tcopy(H5T_C_S1);
    H5Tset_size(type, 2);
    hid_t space = H5Screate_simple(2, dims2, NULL);
    hid_t attr = H5Acreate2(x->id, "grid", type, space, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(attr >= 0 && H5Awrite(attr, type, "a0a1b0b1") >= 0);
    H5Aclose(attr);
    H5Sclose(space);
    H5Tclose(type);
    check_strings(x, "grid", (const char *[]){"a0", "a1", "b0", "b1"}, 4);
    check_info(x, "grid", true, true, 2);
}

static void test_attributes(void)
{
    char path[PATH_MAX];
    in_workdir(path, sizeof path, "attrs.h5");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {2, 2};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = H5Dcreate2(file, "X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    CHECK(file >= 0 && dset >= 0);
    const ooc_h5_obj x = {dset, "/X", path};
    const ooc_h5_obj root = {file, "/", path};
    ooc_h5_quiet quiet;
    ooc_h5_quiet_begin(&quiet);
    test_string_round_trips(&x);
    test_number_round_trips(&x);
    test_fixed_strings_from_c(&x);
    ooc_error err = {0};
    CHECK(ooc_h5_attr_put_string(&root, "PYTABLES_FORMAT_VERSION", "2.1", H5T_CSET_UTF8, &err) ==
          OOC_OK);
    check_scalar(&root, "PYTABLES_FORMAT_VERSION", "2.1");
    ooc_h5_quiet_end(&quiet);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
}

/* ---- interop with h5py --------------------------------------------------- */

/* `write PATH`: a file with the attribute kinds h5py makes; `read PATH OUT`:
 * one line per attribute of /X into OUT, "name=TYPE:value|TYPE:value" for
 * arrays, "name=TYPE:value" otherwise. */
static const char h5py_script[] =
    "import sys, h5py, numpy as np\n"
    "mode, path = sys.argv[1], sys.argv[2]\n"
    "if mode == 'write':\n"
    "    with h5py.File(path, 'w') as f:\n"
    "        f.attrs['PYTABLES_FORMAT_VERSION'] = '2.1'\n"
    "        a = f.create_dataset('X', data=np.zeros((2, 2))).attrs\n"
    "        a['column_names'] = ['a', '\\u03b2 (beta)', '']\n"
    "        a['formula'] = 'y ~ log(\\u00e4)'\n"
    "        a['fixed_array'] = np.array([b'ab', b'cde'])\n"
    "        a['fixed_scalar'] = np.bytes_(b'EARRAY')\n"
    "        a['empty_array'] = np.array([], dtype=h5py.string_dtype())\n"
    "        a['null'] = h5py.Empty('S4')\n"
    "        a['number'] = 3\n"
    "else:\n"
    "    def text(v):\n"
    "        s = v.decode('utf-8') if isinstance(v, bytes) else str(v)\n"
    "        return type(v).__name__ + ':' + s\n"
    "    with h5py.File(path, 'r') as f, open(sys.argv[3], 'w', encoding='utf-8') as out:\n"
    "        for k, v in sorted(f['X'].attrs.items()):\n"
    "            if isinstance(v, np.ndarray) and v.ndim == 1:\n"
    "                out.write(k + '=' + '|'.join(text(e) for e in v) + '\\n')\n"
    "            else:\n"
    "                out.write(k + '=' + text(v) + '\\n')\n";

/* Run the script with python and arguments a1..a3 (a3 may be NULL). */
static bool run_python(const char *python, const char *a1, const char *a2, const char *a3)
{
    char *argv[] = {(char *)python, (char *)"-c", (char *)h5py_script, (char *)a1, (char *)a2,
                    (char *)a3, NULL};
    pid_t pid;
    int rc = posix_spawn(&pid, python, NULL, NULL, argv, environ);
    CHECK_MSG(rc == 0, "cannot run %s: %s", python, strerror(rc));
    if (rc != 0)
        return false;
    int wstatus = 0;
    while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
    }
    CHECK_MSG(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "%s %s failed", python, a1);
    return WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0;
}

/* Attributes written by h5py, read here. */
static void test_read_h5py_file(const char *python)
{
    char path[PATH_MAX];
    in_workdir(path, sizeof path, "h5py.h5");
    if (!run_python(python, "write", path, NULL))
        return;
    hid_t file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    hid_t dset = H5Dopen2(file, "X", H5P_DEFAULT);
    CHECK(file >= 0 && dset >= 0);
    const ooc_h5_obj x = {dset, "/X", path};
    const ooc_h5_obj root = {file, "/", path};
    ooc_h5_quiet quiet;
    ooc_h5_quiet_begin(&quiet);
    check_scalar(&root, "PYTABLES_FORMAT_VERSION", "2.1");
    check_strings(&x, "column_names", (const char *[]){"a", "\xce\xb2 (beta)", ""}, 3);
    check_info(&x, "column_names", true, true, 1);
    check_scalar(&x, "formula", "y ~ log(\xc3\xa4)");
    check_strings(&x, "fixed_array", (const char *[]){"ab", "cde"}, 2);
    check_scalar(&x, "fixed_scalar", "EARRAY");
    check_strings(&x, "empty_array", NULL, 0);
    check_scalar(&x, "null", "");
    check_strings(&x, "null", NULL, 0);
    check_scalar(&x, "number", NULL);
    check_info(&x, "number", true, false, 0);
    ooc_h5_quiet_end(&quiet);
    H5Dclose(dset);
    H5Fclose(file);
}

/* Attributes written here, read by h5py: str for the vlen arrays, bytes for
 * the fixed-length scalars whatever their character set (as PyTables'
 * attributes read), numbers as numbers. */
static void test_h5py_reads_ours(const char *python)
{
    char path[PATH_MAX], listing[PATH_MAX];
    in_workdir(path, sizeof path, "ours.h5");
    in_workdir(listing, sizeof listing, "ours.txt");
    hid_t file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {2, 2};
    hid_t space = H5Screate_simple(2, dims, NULL);
    hid_t dset = H5Dcreate2(file, "X", H5T_IEEE_F64LE, space, H5P_DEFAULT, H5P_DEFAULT,
                            H5P_DEFAULT);
    const ooc_h5_obj x = {dset, "/X", path};
    ooc_error err = {0};
    const char *names[] = {"a", "\xce\xb2", ""};
    const int64_t counts[] = {1, 2};
    const double half = 0.5;
    CHECK(ooc_h5_attr_put_string(&x, "CLASS", "EARRAY", H5T_CSET_ASCII, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_string(&x, "formula", "y ~ \xc3\xa4", H5T_CSET_UTF8, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_strings(&x, "column_names", names, 3, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_strings(&x, "empty", NULL, 0, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_numbers(&x, "counts", OOC_H5_INT64, counts, 2, &err) == OOC_OK);
    CHECK(ooc_h5_attr_put_number(&x, "half", OOC_H5_FLOAT64, &half, &err) == OOC_OK);
    CHECK_MSG(err.status == OOC_OK, "%s", err.message);
    H5Dclose(dset);
    H5Sclose(space);
    H5Fclose(file);
    if (!run_python(python, "read", path, listing))
        return;
    static const char want[] = "CLASS=bytes_:EARRAY\n"
                               "column_names=str:a|str:\xce\xb2|str:\n"
                               "counts=int64:1|int64:2\n"
                               "empty=\n"
                               "formula=bytes_:y ~ \xc3\xa4\n"
                               "half=float64:0.5\n";
    char got[512] = "";
    FILE *f = fopen(listing, "r");
    CHECK(f != NULL);
    if (f) {
        got[fread(got, 1, sizeof got - 1, f)] = '\0';
        fclose(f);
    }
    CHECK_STREQ(got, want);
}

/* ---- outfile --------------------------------------------------------------- */

/* The temporary name: NAME.oocsolve-partial-XXXXXX next to path. */
static void check_temp_name(const ooc_outfile *f, const char *path)
{
    size_t n = strlen(path);
    CHECK_MSG(strncmp(f->tmp_path, path, n) == 0 &&
                  strncmp(f->tmp_path + n, ".oocsolve-partial-", 18) == 0 &&
                  strlen(f->tmp_path) == n + 18 + 6,
              "temporary name '%s' for '%s'", f->tmp_path, path);
}

static void test_outfile_commit(void)
{
    char dir[PATH_MAX], path[PATH_MAX];
    in_workdir(dir, sizeof dir, "commit");
    CHECK(mkdir(dir, 0777) == 0);
    in_workdir(path, sizeof path, "commit/result.bin");
    for (int durable = 0; durable <= 1; durable++) {
        ooc_outfile f = {0};
        ooc_error err = {0};
        CHECK_MSG(ooc_outfile_begin(&f, path, &err) == OOC_OK, "%s", err.message);
        check_temp_name(&f, path);
        CHECK(f.fd >= 0 && file_exists(f.tmp_path) && !file_exists(path) == !durable);
        char *tmp = strdup(f.tmp_path);
        const char *text = durable ? "second" : "first";
        CHECK(write(f.fd, text, strlen(text)) == (ssize_t)strlen(text));
        CHECK_MSG(ooc_outfile_commit(&f, durable, &err) == OOC_OK, "%s", err.message);
        CHECK(f.path == NULL && f.tmp_path == NULL && f.fd == -1);
        ooc_outfile_abort(&f); /* after a commit: nothing happens */
        CHECK(!file_exists(tmp));
        free(tmp);
        char got[16] = "";
        FILE *in = fopen(path, "r");
        CHECK(in != NULL);
        if (in) {
            got[fread(got, 1, sizeof got - 1, in)] = '\0';
            fclose(in);
        }
        CHECK_STREQ(got, text); /* the second commit replaced the first file */
        CHECK(count_entries(dir) == 1);
    }
}

static void test_outfile_abort(void)
{
    char dir[PATH_MAX], path[PATH_MAX];
    in_workdir(dir, sizeof dir, "abort");
    CHECK(mkdir(dir, 0777) == 0);
    in_workdir(path, sizeof path, "abort/result.bin");
    ooc_outfile f = {0};
    ooc_outfile_abort(&f); /* not begun: nothing happens (fd 0 is not closed) */
    CHECK(fcntl(0, F_GETFD) >= 0 || errno != EBADF);
    ooc_outfile_abort(NULL);
    ooc_error err = {0};
    CHECK(ooc_outfile_begin(&f, path, &err) == OOC_OK);
    CHECK(write(f.fd, "x", 1) == 1);
    CHECK(count_entries(dir) == 1);
    ooc_outfile_abort(&f);
    CHECK(f.path == NULL && f.tmp_path == NULL && f.fd == -1);
    CHECK(count_entries(dir) == 0);
}

/* The target is a directory: rename fails, the temporary file is removed,
 * the error is OOC_ERR_IO naming both paths. */
static void test_outfile_rename_fails(void)
{
    char dir[PATH_MAX], path[PATH_MAX];
    in_workdir(dir, sizeof dir, "rename");
    CHECK(mkdir(dir, 0777) == 0);
    in_workdir(path, sizeof path, "rename/target");
    CHECK(mkdir(path, 0777) == 0);
    char inside[PATH_MAX];
    in_workdir(inside, sizeof inside, "rename/target/keep");
    FILE *keep = fopen(inside, "w"); /* a non-empty directory cannot be replaced */
    CHECK(keep != NULL);
    if (keep)
        fclose(keep);
    ooc_outfile f = {0};
    ooc_error err = {0};
    CHECK(ooc_outfile_begin(&f, path, &err) == OOC_OK);
    char *tmp = strdup(f.tmp_path);
    CHECK(ooc_outfile_commit(&f, true, &err) == OOC_ERR_IO);
    CHECK(err.status == OOC_ERR_IO && strstr(err.message, "cannot rename") &&
          strstr(err.message, path) && strstr(err.message, tmp));
    CHECK(f.path == NULL && f.tmp_path == NULL && f.fd == -1);
    CHECK(!file_exists(tmp));
    CHECK(count_entries(dir) == 1 && count_entries(path) == 1);
    free(tmp);
}

static void test_outfile_bad_paths(void)
{
    char path[PATH_MAX];
    ooc_outfile f = {0};
    ooc_error err = {0};
    in_workdir(path, sizeof path, "dir/");
    CHECK(ooc_outfile_begin(&f, path, &err) == OOC_ERR_INVALID_ARG);
    CHECK(strstr(err.message, path) != NULL);
    CHECK(f.path == NULL && f.tmp_path == NULL && f.fd == -1);
    ooc_error err2 = {0};
    in_workdir(path, sizeof path, "missing/out.h5");
    CHECK(ooc_outfile_begin(&f, path, &err2) == OOC_ERR_IO);
    CHECK_MSG(strstr(err2.message, "cannot create temporary file") &&
                  strstr(err2.message, path) && strstr(err2.message, "No such file"),
              "%s", err2.message);
    CHECK(f.path == NULL && f.tmp_path == NULL && f.fd == -1);
}

/* A name too long for its temporary name is cut at a UTF-8 boundary. */
static void test_outfile_long_name(void)
{
    char dir[PATH_MAX], path[PATH_MAX];
    in_workdir(dir, sizeof dir, "long");
    CHECK(mkdir(dir, 0777) == 0);
    long name_max = pathconf(dir, _PC_NAME_MAX);
    if (name_max <= 0 || name_max > 1000)
        name_max = 255;
    int len = snprintf(path, sizeof path, "%s/", dir);
    for (long i = 0; i < name_max / 2 + 1; i++) /* "é" × N: 2 bytes each, > name_max */
        len += snprintf(path + len, sizeof path - (size_t)len, "\xc3\xa9");
    ooc_outfile f = {0};
    ooc_error err = {0};
    CHECK_MSG(ooc_outfile_begin(&f, path, &err) == OOC_OK, "%s", err.message);
    if (f.tmp_path) {
        const char *base = strrchr(f.tmp_path, '/') + 1;
        const char *marker = strstr(base, ".oocsolve-partial-");
        CHECK(marker && (long)strlen(base) <= name_max);
        CHECK(marker && (marker - base) % 2 == 0 && marker - base > 0); /* whole characters */
        CHECK(marker && strncmp(base, path + strlen(dir) + 1, (size_t)(marker - base)) == 0);
    }
    ooc_outfile_abort(&f);
    CHECK(count_entries(dir) == 0);
}

/* The second kind of user: HDF5 creates the temporary file again by name. */
static void test_outfile_hdf5_by_name(void)
{
    char path[PATH_MAX];
    in_workdir(path, sizeof path, "state.h5");
    ooc_outfile f = {0};
    ooc_error err = {0};
    CHECK(ooc_outfile_begin(&f, path, &err) == OOC_OK);
    hid_t file = H5Fcreate(f.tmp_path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(file >= 0);
    const ooc_h5_obj root = {file, "/", path};
    const int64_t iteration = 3;
    CHECK(ooc_h5_attr_put_number(&root, "iteration", OOC_H5_INT64, &iteration, &err) == OOC_OK);
    CHECK(H5Fclose(file) >= 0);
    CHECK_MSG(ooc_outfile_commit(&f, true, &err) == OOC_OK, "%s", err.message);
    CHECK(H5Fis_hdf5(path) > 0);
    file = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    CHECK(file >= 0 && H5Aexists(file, "iteration") > 0);
    H5Fclose(file);
}

int main(void)
{
    snprintf(workdir, sizeof workdir, "test_h5attr.XXXXXX");
    if (!mkdtemp(workdir)) {
        perror("mkdtemp");
        return 1;
    }
    test_attributes();
    const char *python = getenv("OOC_PYTHON");
    if (python && *python) {
        test_read_h5py_file(python);
        test_h5py_reads_ours(python);
    } else {
        fprintf(stderr, "OOC_PYTHON not set: h5py interop skipped\n");
    }
    test_outfile_commit();
    test_outfile_abort();
    test_outfile_rename_fails();
    test_outfile_bad_paths();
    test_outfile_long_name();
    test_outfile_hdf5_by_name();
    if (!test_failures)
        remove_tree(workdir);
    return TEST_EXIT();
}
