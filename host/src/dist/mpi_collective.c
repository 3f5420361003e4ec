/*
 * mpi_collective.c — ooc_collective over MPI_COMM_WORLD (mpi_collective.h).
 *
 * Errors come back as statuses (MPI_ERRORS_RETURN), with MPI's own text.
 * Messages longer than INT_MAX bytes go in pieces.  agree is one
 * MPI_Allreduce (MIN of the failed ranks), the call every rank makes even
 * after a failure, so a failed rank never leaves the others waiting.
 */
#include "dist/mpi_collective.h"

#include "base/error.h"

#include <limits.h>
#include <mpi.h>

static bool started;

/* OOC_ERR_IO with MPI's text for rc, naming the operation. */
static ooc_status mpi_fail(int rc, const char *what, ooc_error *err)
{
    char text[MPI_MAX_ERROR_STRING] = "";
    int len = 0;
    MPI_Error_string(rc, text, &len);
    return OOC_FAIL(err, OOC_ERR_IO, "MPI %s failed: %s", what, text);
}

static ooc_status mpi_agree(void *ctx, bool failed, int *first, ooc_error *err)
{
    const ooc_collective *c = ctx;
    int mine = failed ? c->rank : c->size, lowest = c->size;
    int rc = MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (rc != MPI_SUCCESS)
        return mpi_fail(rc, "Allreduce", err);
    *first = lowest < c->size ? lowest : -1;
    return OOC_OK;
}

/* The next piece of a message: at most INT_MAX bytes. */
static int piece(size_t left)
{
    return left > (size_t)INT_MAX ? INT_MAX : (int)left;
}

static ooc_status mpi_broadcast(void *ctx, void *data, size_t bytes, ooc_error *err)
{
    (void)ctx;
    for (size_t done = 0; done < bytes;) {
        int n = piece(bytes - done);
        int rc = MPI_Bcast((char *)data + done, n, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "Bcast", err);
        done += (size_t)n;
    }
    return OOC_OK;
}

static ooc_status mpi_send(void *ctx, int to, const void *data, size_t bytes, ooc_error *err)
{
    (void)ctx;
    for (size_t done = 0; done < bytes;) {
        int n = piece(bytes - done);
        int rc = MPI_Send((const char *)data + done, n, MPI_BYTE, to, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "Send", err);
        done += (size_t)n;
    }
    return OOC_OK;
}

static ooc_status mpi_recv(void *ctx, int from, void *data, size_t bytes, ooc_error *err)
{
    (void)ctx;
    for (size_t done = 0; done < bytes;) {
        int n = piece(bytes - done);
        int rc = MPI_Recv((char *)data + done, n, MPI_BYTE, from, 0, MPI_COMM_WORLD,
                          MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS)
            return mpi_fail(rc, "Recv", err);
        done += (size_t)n;
    }
    return OOC_OK;
}

ooc_status ooc_mpi_start(int *argc, char ***argv, ooc_collective *out, ooc_error *err)
{
    int rc = MPI_Init(argc, argv);
    if (rc != MPI_SUCCESS)
        return OOC_FAIL(err, OOC_ERR_UNSUPPORTED, "MPI_Init failed (error %d)", rc);
    started = true;
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    *out = (ooc_collective){.agree = mpi_agree,
                            .broadcast = mpi_broadcast,
                            .send = mpi_send,
                            .recv = mpi_recv};
    out->ctx = out;
    MPI_Comm_rank(MPI_COMM_WORLD, &out->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &out->size);
    return OOC_OK;
}

void ooc_mpi_stop(void)
{
    if (started)
        MPI_Finalize();
    started = false;
}
