/*
 * svg.h — render a profile (ooc_trace_data, from a live trace or a JSON
 * file) as one self-contained SVG image, in the spirit of dask's
 * visualize(): a lane per thread with a colored rectangle per stage span
 * (nested spans drawn inset on their parent; spans closer than a pixel are
 * merged, with a tooltip giving their count and time), a legend with each
 * stage's busy time, a time axis, and a small chart per counter track (RSS,
 * CPU %, ...) on the same time axis below the lanes.
 */
#ifndef OOC_SVG_H
#define OOC_SVG_H

#include "profile/trace.h"

typedef struct ooc_svg_options {
    unsigned width_px;  /* image width; 0: 1200 (at least 400 is used) */
    const char *title;  /* NULL: "oocsolve profile" plus the trace's command */
} ooc_svg_options;

/* Write the SVG of `data` to `f`; `opts` may be NULL.  Errors:
 * OOC_ERR_NOMEM (nothing written then); write errors are left in
 * ferror(f) for the caller to check. */
ooc_status ooc_svg_render(const ooc_trace_data *data, const ooc_svg_options *opts, FILE *f,
                          ooc_error *err);

/* Render to `path`, written under a temporary name and renamed.
 * Errors: OOC_ERR_IO (the message names the file), OOC_ERR_NOMEM. */
ooc_status ooc_svg_write(const ooc_trace_data *data, const ooc_svg_options *opts,
                         const char *path, ooc_error *err);

#endif
