/*
 * glm_input.h — a GLM's input (glm_input.c).  From a CSV + formula, the
 * columns the model needs beside the formula's become terms of the formula,
 * so that they are columns of X and follow its missing-value rules (as
 * statsmodels' formula API applies them to offset=, exposure= and
 * freq_weights= arrays): ooc_glm_source_open (oocsolve.h) opens the source
 * that way, for the CLI and the Python package alike, and ooc_glm finds the
 * columns again here.
 *  - The offset, exposure and frequency-weight columns COL become the term
 *    "I((COL))" (Q('COL') inside for a name that is not an identifier; a
 *    term no user formula writes).
 *  - A binomial response that is a two-level categorical (the formula layer
 *    refuses it as a response: OOC_ERR_DATA) becomes the term
 *    "C(LHS, Treatment(1))" of a formula without a response: Treatment with
 *    the second level as reference codes the first level as 1, the success
 *    statsmodels takes from patsy's two-column response (LHS[first],
 *    LHS[second]), levels sorted as patsy sorts them.
 */
#ifndef OOC_SOLVE_GLM_INPUT_H
#define OOC_SOLVE_GLM_INPUT_H

#include "oocsolve.h"

/* What ooc_glm_source_open attached to the source it opened from a formula
 * (freed with the source). */
typedef struct ooc_glm_input {
    char *formula;       /* the formula the source was opened with (its options point here) */
    char *user_formula;  /* the caller's, for the result */
    char *response_term; /* "C(LHS, Treatment(1))" when the response became a term, else NULL */
    char *lhs;           /* then the response as the caller wrote it */
} ooc_glm_input;

/* The input ooc_glm_source_open attached to src, or NULL (any other source). */
const ooc_glm_input *ooc_glm_input_of(const ooc_source *src);

/* The column of X that holds the `what` column `name` (offset, exposure,
 * ...): the column so named, or in a source from ooc_glm_source_open, its
 * term.  Errors: OOC_ERR_INVALID_ARG (none), OOC_ERR_NOMEM. */
ooc_status ooc_glm_find_column(const ooc_source *src, const char *what, const char *name,
                               long *col, ooc_error *err);

/* The response of a source whose two-level categorical response became a
 * term (in->response_term): the column of its first level into *col, and
 * its name "LHS[level]" into *y_name (malloc'ed, the caller's).  Errors:
 * OOC_ERR_DATA (not exactly two levels, or no intercept to drop the second
 * level against), OOC_ERR_NOMEM. */
ooc_status ooc_glm_categorical_response(const ooc_source *src, const ooc_glm_input *in,
                                        long *col, char **y_name, ooc_error *err);

#endif
