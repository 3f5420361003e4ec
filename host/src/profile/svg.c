/*
 * svg.c — the profile renderer (see svg.h).
 *
 * Two steps: plan (analyze the trace, cut spans into rectangles: depth from
 * the stack of open spans on a thread, neighbours of the same stage less
 * than a pixel apart merged, the merged rectangle's opacity showing how much
 * of it was really busy), then emit (plain text output, cannot fail except
 * for I/O).  Everything is in one SVG file with no external references.
 */
#include "profile/svg.h"

#include "base/error.h"
#include "base/outfile.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MARGIN_LEFT 150.0
#define MARGIN_RIGHT 24.0
#define TITLE_HEIGHT 58.0
#define LANE_HEIGHT 22.0
#define LANE_GAP 4.0
#define MAX_DRAWN_DEPTH 4
#define CHART_HEIGHT 64.0
#define CHART_GAP 26.0
#define LEGEND_ITEM_WIDTH 200.0
#define LEGEND_ROW_HEIGHT 20.0
#define MERGE_GAP_PX 0.75

/* One color per stage (a qualitative palette, distinct on white). */
static const char *const stage_colors[OOC_STAGE_COUNT] = {
    [OOC_STAGE_CSV_TOKENIZE] = "#4e79a7",  [OOC_STAGE_LEVEL_SCAN] = "#a0cbe8",
    [OOC_STAGE_FORMULA_EVAL] = "#f28e2b",  [OOC_STAGE_COMPRESS] = "#e15759",
    [OOC_STAGE_CHUNK_WRITE] = "#76b7b2",   [OOC_STAGE_CHUNK_READ] = "#59a14f",
    [OOC_STAGE_DECOMPRESS] = "#edc948",    [OOC_STAGE_UNSHUFFLE] = "#b07aa1",
    [OOC_STAGE_COPY_TO_DEVICE] = "#ff9da7", [OOC_STAGE_ACCUMULATE] = "#9c755f",
    [OOC_STAGE_FINALIZE] = "#bab0ac",      [OOC_STAGE_WRITE_OUTPUT] = "#d37295",
    [OOC_STAGE_RESIDUAL_PASS] = "#8cd17d", [OOC_STAGE_MEMORIZE] = "#86bcb6",
};

static const char *const counter_colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd",
                                             "#8c564b", "#17becf"};

typedef struct rect {
    int thread, depth, stage;
    double x0, x1;
    uint64_t count;
    int64_t busy_ns;
} rect;

typedef struct plan {
    const ooc_trace_data *d;
    ooc_trace_stats stats;
    double width, plot_width;
    double wall_s;
    rect *rects;
    size_t nrects, cap;
    const char *title;
} plan;

static double x_of(const plan *p, int64_t t_ns)
{
    double wall = p->d->wall_ns > 0 ? (double)p->d->wall_ns : 1.0;
    return MARGIN_LEFT + (double)t_ns / wall * p->plot_width;
}

static bool push_rect(plan *p, const rect *r)
{
    if (p->nrects == p->cap) {
        size_t cap = p->cap ? 2 * p->cap : 256;
        rect *grown = realloc(p->rects, cap * sizeof *grown);
        if (!grown)
            return false;
        p->rects = grown;
        p->cap = cap;
    }
    p->rects[p->nrects++] = *r;
    return true;
}

static int compare_rects(const void *pa, const void *pb)
{
    const rect *a = pa, *b = pb;
    if (a->depth != b->depth)
        return a->depth < b->depth ? -1 : 1; /* parents painted first */
    if (a->thread != b->thread)
        return a->thread < b->thread ? -1 : 1;
    return a->x0 < b->x0 ? -1 : a->x0 > b->x0;
}

static ooc_status make_plan(plan *p, ooc_error *err)
{
    ooc_status status = OOC_OK;
    const ooc_trace_data *d = p->d;
    int64_t *open_ends = malloc((d->nspans + 1) * sizeof *open_ends);
    rect pending[MAX_DRAWN_DEPTH + 1];
    bool have[MAX_DRAWN_DEPTH + 1] = {false};
    size_t depth = 0;
    OOC_FAIL_IF(!open_ends, err, OOC_ERR_NOMEM, "out of memory rendering the profile");
    OOC_CHECK(ooc_trace_analyze(d, &p->stats, err));

    for (size_t i = 0; i <= d->nspans; i++) {
        const ooc_trace_span_rec *s = i < d->nspans ? &d->spans[i] : NULL;
        bool new_thread = !s || i == 0 || s->thread != d->spans[i - 1].thread;
        if (new_thread) {
            for (int k = 0; k <= MAX_DRAWN_DEPTH; k++) {
                if (have[k])
                    OOC_FAIL_IF(!push_rect(p, &pending[k]), err, OOC_ERR_NOMEM,
                                "out of memory rendering the profile");
                have[k] = false;
            }
            depth = 0;
        }
        if (!s)
            break;
        int64_t end = s->start_ns + s->dur_ns;
        while (depth > 0 && open_ends[depth - 1] <= s->start_ns)
            depth--;
        open_ends[depth++] = end;
        int level = (int)(depth - 1 < MAX_DRAWN_DEPTH ? depth - 1 : MAX_DRAWN_DEPTH);
        double x0 = x_of(p, s->start_ns), x1 = x_of(p, end);
        rect *r = &pending[level];
        if (have[level] && r->stage == (int)s->stage && x0 <= r->x1 + MERGE_GAP_PX) {
            r->x1 = fmax(r->x1, x1);
            r->count++;
            r->busy_ns += s->dur_ns;
            continue;
        }
        if (have[level])
            OOC_FAIL_IF(!push_rect(p, r), err, OOC_ERR_NOMEM, "out of memory rendering the profile");
        *r = (rect){s->thread, level, (int)s->stage, x0, x1, 1, s->dur_ns};
        have[level] = true;
    }
    if (p->nrects > 1)
        qsort(p->rects, p->nrects, sizeof *p->rects, compare_rects);
out:
    free(open_ends);
    return status;
}

/* Text with XML special characters escaped. */
static void put_text(FILE *f, const char *s)
{
    for (; *s; s++) {
        switch (*s) {
        case '&': fputs("&amp;", f); break;
        case '<': fputs("&lt;", f); break;
        case '>': fputs("&gt;", f); break;
        case '"': fputs("&quot;", f); break;
        default:
            if ((unsigned char)*s >= 0x20 || *s == '\t')
                fputc(*s, f);
        }
    }
}

/* The smallest "round" number >= x: 1, 2 or 5 times a power of ten (axis
 * steps), or with `fine` also 1.5, 2.5, 3, 4, 6, 8 (chart maxima). */
static double nice_ceil(double x, bool fine)
{
    static const double coarse_steps[] = {1, 2, 5, 10};
    static const double fine_steps[] = {1, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10};
    const double *steps = fine ? fine_steps : coarse_steps;
    size_t n = fine ? sizeof fine_steps / sizeof *fine_steps : sizeof coarse_steps / sizeof *coarse_steps;
    if (!(x > 0))
        return 1.0;
    double mag = pow(10.0, floor(log10(x)));
    for (size_t k = 0; k < n; k++)
        if (steps[k] * mag >= x * (1 - 1e-12))
            return steps[k] * mag;
    return 10 * mag;
}

/* A duration in the most readable unit ("250 ms", "1.5 s", "12 µs"). */
static void format_seconds(char *buf, size_t size, double s)
{
    if (s == 0)
        snprintf(buf, size, "0");
    else if (fabs(s) >= 1)
        snprintf(buf, size, "%.3g s", s);
    else if (fabs(s) >= 1e-3)
        snprintf(buf, size, "%.3g ms", s * 1e3);
    else
        snprintf(buf, size, "%.3g µs", s * 1e6);
}

static void emit_lanes(const plan *p, FILE *f, double top)
{
    const ooc_trace_data *d = p->d;
    for (size_t t = 0; t < d->nthreads; t++) {
        double y = top + (double)t * (LANE_HEIGHT + LANE_GAP);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n",
                MARGIN_LEFT, y, p->plot_width, LANE_HEIGHT, t % 2 ? "#f4f4f4" : "#fafafa");
        char name[26];
        snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, d->threads[t].name);
        if (strlen(d->threads[t].name) >= sizeof name)
            memcpy(name + sizeof name - 4, "...", 4);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"lane\">",
                MARGIN_LEFT - 8, y + LANE_HEIGHT / 2 + 4);
        put_text(f, name);
        fputs("</text>\n", f);
    }
    for (size_t i = 0; i < p->nrects; i++) {
        const rect *r = &p->rects[i];
        double y = top + (double)r->thread * (LANE_HEIGHT + LANE_GAP) + 3.0 * r->depth;
        double h = fmax(LANE_HEIGHT - 6.0 * r->depth, 4.0);
        double w = fmax(r->x1 - r->x0, 0.6);
        double duty = r->x1 > r->x0 ? (x_of(p, r->busy_ns) - MARGIN_LEFT) / (r->x1 - r->x0) : 1.0;
        double opacity = fmin(1.0, fmax(0.35, duty));
        char busy[32];
        format_seconds(busy, sizeof busy, (double)r->busy_ns / 1e9);
        fprintf(f, "<rect x=\"%.2f\" y=\"%.1f\" width=\"%.2f\" height=\"%.1f\" fill=\"%s\"",
                r->x0, y, w, h, stage_colors[r->stage]);
        if (opacity < 0.99)
            fprintf(f, " fill-opacity=\"%.2f\"", opacity);
        fprintf(f, "><title>%s: %llu span%s, %s</title></rect>\n", ooc_stage_name((ooc_stage)r->stage),
                (unsigned long long)r->count, r->count == 1 ? "" : "s", busy);
    }
}

/* Vertical grid lines and tick labels under the lanes. */
static void emit_axis(const plan *p, FILE *f, double grid_top, double axis_y, double grid_bottom)
{
    double step = nice_ceil(p->wall_s / fmax(2.0, p->plot_width / 110.0), false);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" class=\"axis\"/>\n",
            MARGIN_LEFT, axis_y, MARGIN_LEFT + p->plot_width, axis_y);
    for (int k = 0;; k++) {
        double t = k * step;
        if (t > p->wall_s * (1 + 1e-9))
            break;
        double x = x_of(p, (int64_t)llround(t * 1e9));
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" class=\"grid\"/>\n", x,
                grid_top, x, grid_bottom);
        fprintf(f, "<line x1=\"%.2f\" y1=\"%.1f\" x2=\"%.2f\" y2=\"%.1f\" class=\"axis\"/>\n", x,
                axis_y, x, axis_y + 4);
        char label[32];
        format_seconds(label, sizeof label, t);
        fprintf(f, "<text x=\"%.2f\" y=\"%.1f\" text-anchor=\"middle\" class=\"tick\">%s</text>\n",
                x, axis_y + 16, label);
    }
}

/* The samples of `c` as SVG points; samples within one pixel column are
 * reduced to their minimum and maximum so spikes survive. */
static void emit_points(const plan *p, FILE *f, const ooc_trace_counter_rec *c, double scale_max,
                        double bottom)
{
    double col = 0, lo = 0, hi = 0;
    bool open = false;
    for (size_t k = 0; k <= c->nsamples; k++) {
        double x = k < c->nsamples ? floor(x_of(p, c->samples[k].t_ns)) : -1;
        if (open && x != col) {
            fprintf(f, "%.1f,%.1f ", col, bottom - lo / scale_max * CHART_HEIGHT);
            if (hi != lo)
                fprintf(f, "%.1f,%.1f ", col, bottom - hi / scale_max * CHART_HEIGHT);
            open = false;
        }
        if (k == c->nsamples)
            break;
        double v = c->samples[k].value;
        if (!open) {
            col = x;
            lo = hi = v;
            open = true;
        } else {
            lo = fmin(lo, v);
            hi = fmax(hi, v);
        }
    }
}

/* One counter chart: min/max per pixel column as a line over a light fill. */
static void emit_counter(const plan *p, FILE *f, const ooc_trace_counter_rec *c, double top,
                         const char *color)
{
    double vmax = 0;
    for (size_t k = 0; k < c->nsamples; k++)
        vmax = fmax(vmax, c->samples[k].value);
    double scale_max = nice_ceil(vmax > 0 ? vmax : 1.0, true);
    if (!strcmp(c->unit, "%")) {
        /* CPU: the scale shows the whole machine (100 per core) when known. */
        const char *cpus = ooc_trace_data_meta(p->d, "cpus");
        double full = cpus ? 100.0 * atof(cpus) : 100.0;
        if (scale_max < full && full <= 100.0 * 1024)
            scale_max = full;
    }
    double bottom = top + CHART_HEIGHT;
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" class=\"chart\"/>\n",
            MARGIN_LEFT, top, p->plot_width, CHART_HEIGHT);
    /* Left of the chart: the name (cut to fit the margin), then unit and peak. */
    char name[24];
    snprintf(name, sizeof name, "%.*s", (int)sizeof name - 1, c->name);
    if (strlen(c->name) >= sizeof name)
        memcpy(name + sizeof name - 4, "...", 4);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"lane\">", MARGIN_LEFT - 8,
            top + 14);
    put_text(f, name);
    fprintf(f, "</text>\n<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\" class=\"tick\">peak %.4g",
            MARGIN_LEFT - 8, top + 30, vmax);
    if (c->unit[0]) {
        fputc(' ', f);
        put_text(f, c->unit);
    }
    fputs("</text>\n", f);
    fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"tick\">%.4g</text>\n", MARGIN_LEFT + 4,
            top + 11, scale_max);
    if (!c->nsamples)
        return;

    /* Light area under the line, then the line itself. */
    double first_x = floor(x_of(p, c->samples[0].t_ns));
    double last_x = floor(x_of(p, c->samples[c->nsamples - 1].t_ns));
    fprintf(f, "<polygon fill=\"%s\" fill-opacity=\"0.15\" stroke=\"none\" points=\"%.1f,%.1f ",
            color, first_x, bottom);
    emit_points(p, f, c, scale_max, bottom);
    fprintf(f, "%.1f,%.1f\"/>\n", last_x, bottom);
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" "
               "stroke-linejoin=\"round\" points=\"", color);
    emit_points(p, f, c, scale_max, bottom);
    fputs("\"/>\n", f);
}

static void emit_legend(const plan *p, FILE *f, double top)
{
    int per_row = (int)fmax(1.0, floor((p->width - MARGIN_LEFT) / LEGEND_ITEM_WIDTH));
    int n = 0;
    for (int s = 0; s < OOC_STAGE_COUNT; s++) {
        const ooc_stage_stats *ss = &p->stats.stage[s];
        if (!ss->nspans)
            continue;
        double x = MARGIN_LEFT + (n % per_row) * LEGEND_ITEM_WIDTH;
        double y = top + (n / per_row) * LEGEND_ROW_HEIGHT;
        char busy[32];
        format_seconds(busy, sizeof busy, (double)ss->busy_ns / 1e9);
        fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"12\" height=\"12\" fill=\"%s\"/>\n", x, y,
                stage_colors[s]);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" class=\"legend\">%s (%s)</text>\n", x + 17, y + 10,
                ooc_stage_name((ooc_stage)s), busy);
        n++;
    }
}

static int legend_rows(const plan *p)
{
    int per_row = (int)fmax(1.0, floor((p->width - MARGIN_LEFT) / LEGEND_ITEM_WIDTH));
    int n = 0;
    for (int s = 0; s < OOC_STAGE_COUNT; s++)
        n += p->stats.stage[s].nspans > 0;
    return (n + per_row - 1) / per_row;
}

static void emit(const plan *p, FILE *f)
{
    const ooc_trace_data *d = p->d;
    double lanes_top = TITLE_HEIGHT;
    double lanes_bottom = lanes_top + (double)d->nthreads * (LANE_HEIGHT + LANE_GAP);
    double axis_y = lanes_bottom + 2;
    double legend_top = axis_y + 30;
    double charts_top = legend_top + legend_rows(p) * LEGEND_ROW_HEIGHT + 14;
    double height = charts_top + (double)d->ncounters * (CHART_HEIGHT + CHART_GAP) + 8;
    double charts_bottom = charts_top + (double)d->ncounters * (CHART_HEIGHT + CHART_GAP) - CHART_GAP;

    fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
               "viewBox=\"0 0 %.0f %.0f\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n",
            p->width, height, p->width, height);
    fputs("<style>.lane{font-size:12px;fill:#333}.tick{font-size:10px;fill:#666}"
          ".legend{font-size:11px;fill:#333}.title{font-size:16px;font-weight:bold;fill:#222}"
          ".sub{font-size:12px;fill:#555}.grid{stroke:#e3e3e3;stroke-width:1}"
          ".axis{stroke:#888;stroke-width:1}.chart{fill:#fafafa;stroke:#ddd}</style>\n", f);
    fprintf(f, "<rect width=\"%.0f\" height=\"%.0f\" fill=\"#ffffff\"/>\n", p->width, height);

    fputs("<text x=\"12\" y=\"22\" class=\"title\">", f);
    put_text(f, p->title);
    fputs("</text>\n<text x=\"12\" y=\"42\" class=\"sub\">", f);
    char wall[32];
    format_seconds(wall, sizeof wall, p->wall_s);
    fprintf(f, "wall %s · %zu threads · %zu spans · parallelism %.2f · ≥2 stages at once %.0f%%",
            wall, d->nthreads, d->nspans, p->stats.parallelism, 100.0 * p->stats.overlap_fraction);
    if (p->stats.bounding_stage >= 0) {
        double u = p->stats.stage[p->stats.bounding_stage].utilization;
        fprintf(f, " · %s %s (%.0f%% busy)", u >= 0.5 ? "bounded by" : "busiest stage",
                ooc_stage_name((ooc_stage)p->stats.bounding_stage), 100.0 * u);
    }
    fputs("</text>\n", f);

    emit_axis(p, f, lanes_top, axis_y, d->ncounters ? charts_bottom : lanes_bottom);
    emit_lanes(p, f, lanes_top);
    emit_legend(p, f, legend_top);
    for (size_t i = 0; i < d->ncounters; i++)
        emit_counter(p, f, &d->counters[i], charts_top + (double)i * (CHART_HEIGHT + CHART_GAP),
                     counter_colors[i % (sizeof counter_colors / sizeof counter_colors[0])]);
    fputs("</svg>\n", f);
}

static ooc_status plan_init(plan *p, const ooc_trace_data *data, const ooc_svg_options *opts,
                            char *title_buf, size_t title_size, ooc_error *err)
{
    memset(p, 0, sizeof *p);
    p->d = data;
    p->width = opts && opts->width_px ? fmax(400.0, (double)opts->width_px) : 1200.0;
    p->plot_width = p->width - MARGIN_LEFT - MARGIN_RIGHT;
    p->wall_s = (double)data->wall_ns / 1e9;
    if (opts && opts->title) {
        p->title = opts->title;
    } else {
        const char *command = ooc_trace_data_meta(data, "command");
        snprintf(title_buf, title_size, "oocsolve profile%s%s", command ? ": " : "",
                 command ? command : "");
        p->title = title_buf;
    }
    ooc_status status = make_plan(p, err);
    if (status != OOC_OK)
        free(p->rects);
    return status;
}

ooc_status ooc_svg_render(const ooc_trace_data *data, const ooc_svg_options *opts, FILE *f,
                          ooc_error *err)
{
    plan p;
    char title[256];
    ooc_status status = plan_init(&p, data, opts, title, sizeof title, err);
    if (status != OOC_OK)
        return status;
    emit(&p, f);
    free(p.rects);
    return OOC_OK;
}

static void emit_cb(FILE *f, const void *ctx)
{
    emit(ctx, f);
}

ooc_status ooc_svg_write(const ooc_trace_data *data, const ooc_svg_options *opts,
                         const char *path, ooc_error *err)
{
    plan p;
    char title[256];
    ooc_status status = plan_init(&p, data, opts, title, sizeof title, err);
    if (status != OOC_OK)
        return status;
    status = ooc_write_file_atomic(path, "profile image", emit_cb, &p, err);
    free(p.rects);
    return status;
}
