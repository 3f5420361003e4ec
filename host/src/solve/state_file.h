/*
 * state_file.h — the accumulated state of a fit as a small HDF5 file
 * (ooc_accumulator_save / ooc_accumulator_load, declared in oocsolve.h).
 *
 * Layout, format 1 (every name is stable; h5py and PyTables read it):
 *   root attributes  oocsolve_state_format "1", method "qr"|"normal",
 *                    column_names (p strings), y_name, formula (when known)
 *   /R       float64 (p+1) x (p+1)  the triangle R_aug of [X y], row-major upper,
 *                                   R_augᵀR_aug = [X y]ᵀW[X y]
 *   /colmin, /colmax  float64 p     column extremes (constant detection)
 *   /xw      float64 p x 2          Σ w·x_j as a long double split in two doubles
 *                                   (value = [:,0] + [:,1])
 *   /sums    float64 9              Σw, Σlog w, Σw·y² (each as two doubles, as xw),
 *                                   then y's Σw, weighted mean and centered SS
 *   /counts  int64 2                rows, weighted (0/1)
 * The file is O(p²) whatever the rows.
 */
#ifndef OOC_SOLVE_STATE_FILE_H
#define OOC_SOLVE_STATE_FILE_H

#include "oocsolve.h"

/* The format this build writes and the newest it reads. */
#define OOC_STATE_FORMAT 1

#endif
