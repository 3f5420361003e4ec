/*
 * mpi_collective.h — an ooc_collective (oocsolve.h) over MPI_COMM_WORLD,
 * for the oocsolve command run by mpirun.  Built only with MPI (OOC_MPI);
 * the library itself never links MPI: it sees the function table.
 */
#ifndef OOC_DIST_MPI_COLLECTIVE_H
#define OOC_DIST_MPI_COLLECTIVE_H

#include "oocsolve.h"


/* MPI_Init, then *out over MPI_COMM_WORLD (errors returned, not fatal).
 * Errors: OOC_ERR_UNSUPPORTED (MPI_Init failed: the reason). */
ooc_status ooc_mpi_start(int *argc, char ***argv, ooc_collective *out, ooc_error *err);

/* MPI_Finalize, when ooc_mpi_start succeeded. */
void ooc_mpi_stop(void);

#endif
