/*
 * cli_mpi.c — fit, svd, glm and ingest across the ranks of mpirun (cli.h).
 *
 * Under an MPI launcher, a build with MPI (OOC_MPI) initialises MPI for the
 * command.  fit, svd and glm: each rank reads its contiguous share of the
 * inputs' rows and the library merges the ranks' accumulators (and glm's
 * sums, every IRLS iteration) (ooc_fit_options.collective,
 * ooc_glm_options.collective).  ingest: each rank writes its share of the
 * CSV's records as a part file and rank 0 the file that joins them
 * (ooc_ingest_options.collective).  Rank 0 prints the result; every rank
 * prints its own errors, and the others stop with a non-zero exit instead of
 * waiting (ooc_cli_dist_agree, and OOC_ERR_REMOTE inside the library, which
 * only rank 0 reports).  A build without MPI refuses to run as one of
 * several ranks rather than have each rank do everything.
 */
#include "cli.h"

#ifdef OOC_HAVE_MPI
#include "dist/mpi_collective.h"
#endif

#include <stdio.h>
#include <stdlib.h>

static ooc_collective world;
static bool active;

/* Ranks the launcher's environment announces (Open MPI, PMIx's, MPICH's);
 * 0 when not launched by one. */
static long launched_size(void)
{
    static const char *const vars[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++) {
        const char *v = getenv(vars[i]);
        if (v)
            return strtol(v, NULL, 10);
    }
    return getenv("PMIX_RANK") ? 1 : 0;
}

int ooc_cli_dist_start(int *argc, char ***argv)
{
    long size = launched_size();
    if (size == 0)
        return 0;
#ifdef OOC_HAVE_MPI
    ooc_error err = {0};
    if (ooc_mpi_start(argc, argv, &world, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    active = true;
    return 0;
#else
    (void)argc;
    (void)argv;
    if (size > 1) {
        fprintf(stderr, "oocsolve: error: started as one of %ld MPI ranks, but this oocsolve "
                        "was built without MPI (configure with -DOOC_MPI=ON and libopenmpi-dev)\n",
                size);
        return 2;
    }
    return 0;
#endif
}

int ooc_cli_dist_single(const char *command)
{
    long size = launched_size();
    if (size <= 1)
        return 0;
    fprintf(stderr, "oocsolve: error: %s runs as one process, not as one of %ld MPI ranks\n",
            command, size);
    return 2;
}

void ooc_cli_dist_stop(void)
{
#ifdef OOC_HAVE_MPI
    if (active)
        ooc_mpi_stop();
#endif
    active = false;
}

const ooc_collective *ooc_cli_collective(void)
{
    return active ? &world : NULL;
}

bool ooc_cli_is_root(void)
{
    return !active || world.rank == 0;
}

void ooc_cli_dist_profile(ooc_cli_profile *prof, char *buf, size_t size)
{
    if (!active || world.rank == 0)
        return;
    prof->progress_mode = OOC_PROGRESS_OFF;
    if (prof->trace_path) {
        snprintf(buf, size, "%s.rank-%d", prof->trace_path, world.rank);
        prof->trace_path = buf;
    }
}

int ooc_cli_dist_share(const char *const *inputs, size_t ninputs, ooc_source_options *o)
{
    if (!active || world.size <= 1)
        return 0;
    ooc_source_options count = *o;
    count.trace = NULL;
    count.progress = NULL;
    ooc_source *all = NULL;
    ooc_error err = {0};
    if (ooc_source_open_files(inputs, ninputs, &count, &all, &err) != OOC_OK)
        return ooc_cli_fail(&err);
    uint64_t n = ooc_source_rows(all);
    ooc_source_free(all);
    if (n == UINT64_MAX) {
        fprintf(stderr, "oocsolve: error: with several MPI ranks the inputs must be HDF5 files, "
                        "whose rows each rank can find: convert the CSV first with `oocsolve "
                        "ingest`\n");
        return 2;
    }
    /* contiguous shares, the first n mod size ranks one row longer; with
     * fewer rows than ranks the last ranks read the empty range [n, n)
     * (never [0, 0), which would mean every row) */
    uint64_t size = (uint64_t)world.size, rank = (uint64_t)world.rank;
    uint64_t q = n / size, extra = n % size;
    o->row_begin = rank * q + (rank < extra ? rank : extra);
    o->row_end = o->row_begin + q + (rank < extra ? 1 : 0);
    return 0;
}

int ooc_cli_dist_agree(int rc)
{
    if (!active || world.size <= 1)
        return rc;
    int first = -1;
    ooc_error err = {0};
    if (world.agree(world.ctx, rc != 0, &first, &err) != OOC_OK)
        return rc ? rc : ooc_cli_fail(&err);
    if (rc != 0 || first < 0)
        return rc;
    if (world.rank == 0)
        fprintf(stderr, "oocsolve: error: stopped because MPI rank %d of %d failed (its message "
                        "is above)\n",
                first, world.size);
    return 1;
}
