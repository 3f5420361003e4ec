/*
 * runtime.c — the CUDA emulator's runtime part (see cuda_emu_internal.h for
 * what the emulator guarantees): devices, device and pinned memory, streams
 * and their lazy execution, events, copies and memsets, plus the test
 * controls of cuda_emu.h.  Owns the emulator's state, the device-memory
 * registry and the stream queue that cublas.c and cusolver.c queue on.
 */
#include "cuda_emu_internal.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* ---------------------------------------------------------------- state -- */

emu_state emu;

/* OOC_EMU_TRAFFIC's report (cuda_emu.h), at exit. */
static void write_traffic(void)
{
    FILE *f = fopen(emu.traffic_path, "w");
    if (!f)
        return;
    fprintf(f, "{\"h2d_bytes\": %zu, \"d2h_bytes\": %zu, \"nvcomp_chunks\": %zu}\n",
            emu.traffic.h2d_bytes, emu.traffic.d2h_bytes, emu.traffic.nvcomp_chunks);
    fclose(f);
}

/* See cuda_emu_internal.h. */
void emu_init(void)
{
    if (emu.initialised)
        return;
    emu.initialised = true;
    emu.device_count = 1;
    emu.device_memory = (size_t)8 << 30;
    emu.pinned_available = true;
    const char *count = getenv("OOC_EMU_DEVICE_COUNT");
    if (count && *count) {
        long v = strtol(count, NULL, 10);
        emu.device_count = v < 0 ? 0 : v > EMU_MAX_DEVICES ? EMU_MAX_DEVICES : (int)v;
    }
    const char *mem = getenv("OOC_EMU_DEVICE_MEMORY");
    if (mem && *mem)
        emu.device_memory = (size_t)strtoull(mem, NULL, 10);
    const char *traffic = getenv("OOC_EMU_TRAFFIC");
    if (traffic && *traffic && strlen(traffic) < sizeof emu.traffic_path) {
        strcpy(emu.traffic_path, traffic);
        atexit(write_traffic);
    }
    for (int d = 0; d < EMU_MAX_DEVICES; d++) {
        emu.defaults[d].device = d;
        emu.defaults[d].is_default = true;
    }
}

/* See cuda_emu_internal.h. */
void emu_diagnose(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(emu.diagnostic, sizeof emu.diagnostic, fmt, ap);
    va_end(ap);
    emu.stats.argument_errors++;
}

static cudaError_t fail_rt(cudaError_t e)
{
    emu.last_error = e;
    return e;
}

/* --------------------------------------------------------- memory model -- */

static void protect_all(int prot)
{
    for (emu_region *r = emu.regions; r; r = r->next)
        if (mprotect(r->base, r->mapped, prot) != 0) {
            fprintf(stderr, "cuda_emu: mprotect failed: %s\n", strerror(errno));
            abort();   /* the emulator cannot keep its guarantees: stop the test */
        }
}

static void device_open(void)
{
    if (emu.open_depth++ == 0)
        protect_all(PROT_READ | PROT_WRITE);
}

static void device_close(void)
{
    if (--emu.open_depth == 0)
        protect_all(PROT_NONE);
}

static emu_region *find_region(const void *p)
{
    const char *c = p;
    for (emu_region *r = emu.regions; r; r = r->next)
        if (c >= r->base && c < r->base + r->nbytes)
            return r;
    return NULL;
}

static bool is_pinned(const void *p, size_t n)
{
    const char *c = p;
    for (emu_pinned *h = emu.pinned; h; h = h->next)
        if (c >= h->base && c + n <= h->base + h->nbytes)
            return true;
    return false;
}

/* See cuda_emu_internal.h. */
bool emu_device_range_ok(const void *p, size_t nbytes, int device, const char *what)
{
    if (nbytes == 0)
        return true;
    emu_region *r = find_region(p);
    if (!r) {
        emu_diagnose("%s: %p is not device memory", what, p);
        return false;
    }
    if ((const char *)p + nbytes > r->base + r->nbytes) {
        emu_diagnose("%s: %zu bytes at offset %zu overrun a %zu-byte allocation", what, nbytes,
                     (size_t)((const char *)p - r->base), r->nbytes);
        return false;
    }
    if (device >= 0 && r->device != device) {
        emu_diagnose("%s: memory of device %d used by work on device %d", what, r->device,
                     device);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------- stream model -- */

static struct CUstream_st *resolve_stream(cudaStream_t s)
{
    if (s == NULL || s == cudaStreamLegacy || s == cudaStreamPerThread)
        return &emu.defaults[emu.current];
    return s;
}

/* See cuda_emu_internal.h. */
struct CUstream_st *emu_handle_stream(int device, cudaStream_t stream, const char *what)
{
    if (device != emu.current) {
        emu_diagnose("%s: handle of device %d used while device %d is current", what, device,
                     emu.current);
        return NULL;
    }
    struct CUstream_st *s = resolve_stream(stream);
    if (s->is_default)
        s = &emu.defaults[device];
    return s;
}

/* See cuda_emu_internal.h. */
emu_op *emu_new_op(op_kind kind)
{
    emu_op *op = calloc(1, sizeof *op);
    if (op)
        op->kind = kind;
    return op;
}

/* See cuda_emu_internal.h. */
void emu_enqueue(struct CUstream_st *s, emu_op *op)
{
    op->seq = ++s->enqueued;
    if (s->tail)
        s->tail->next = op;
    else
        s->head = op;
    s->tail = op;
    emu.stats.ops_enqueued++;
}

/* See cuda_emu_internal.h. */
cudaError_t emu_enqueue_function(cudaStream_t stream, void (*run)(emu_op *op), void *arg)
{
    emu_init();
    emu_op *op = emu_new_op(OP_FUNCTION);
    if (!op) {
        free(arg);
        return cudaErrorMemoryAllocation;
    }
    op->run = run;
    op->arg = arg;
    emu_enqueue(resolve_stream(stream), op);
    return cudaSuccess;
}

static void run_copy(emu_op *op)
{
    char *d = op->dst;
    const char *s = op->src;
    for (size_t row = 0; row < op->height; row++)
        memmove(d + row * op->dpitch, s + row * op->spitch, op->width);
}

static void execute(emu_op *op)
{
    switch (op->kind) {
    case OP_COPY:
        run_copy(op);
        break;
    case OP_MEMSET:
        memset(op->dst, op->iarg[0], op->width);
        break;
    case OP_RECORD:
    case OP_WAIT:
        break;
    case OP_SYRK:
    case OP_GEAM:
    case OP_DGMM:
    case OP_TRMM:
    case OP_TRSV:
        emu_execute_blas(op);
        break;
    case OP_GEQRF:
    case OP_POTRF:
    case OP_GESVD:
        emu_execute_solver(op);
        break;
    case OP_FUNCTION:
        op->run(op);
        break;
    }
}

static void run_stream_until(struct CUstream_st *s, uint64_t seq)
{
    device_open();
    while (s->executed < seq && s->head) {
        emu_op *op = s->head;
        s->head = op->next;
        if (!s->head)
            s->tail = NULL;
        if (op->kind == OP_WAIT)
            run_stream_until(op->wait_stream, op->wait_seq);
        else
            execute(op);
        s->executed = op->seq;
        emu.stats.ops_executed++;
        free(op->arg);
        free(op);
    }
    device_close();
}

static void drain(struct CUstream_st *s)
{
    if (s->head)
        emu.stats.sync_points++;
    run_stream_until(s, s->enqueued);
}

/* All streams of a device; only the legacy and blocking ones when blocking_only. */
static void drain_device(int device, bool blocking_only)
{
    drain(&emu.defaults[device]);
    for (struct CUstream_st *s = emu.streams; s; s = s->next_all)
        if (s->device == device && (!blocking_only || !(s->flags & cudaStreamNonBlocking)))
            drain(s);
}

/* ------------------------------------------------------ emulator knobs -- */

void ooc_emu_get_stats(ooc_emu_stats *out)
{
    emu_init();
    *out = emu.stats;
    size_t used = 0;
    for (int d = 0; d < EMU_MAX_DEVICES; d++)
        used += emu.used[d];
    out->device_bytes_in_use = used;
}

void ooc_emu_reset_stats(void)
{
    emu_init();
    memset(&emu.stats, 0, sizeof emu.stats);
}

void ooc_emu_set_device_count(int count)
{
    emu_init();
    emu.device_count = count < 0 ? 0 : count > EMU_MAX_DEVICES ? EMU_MAX_DEVICES : count;
    if (emu.current >= emu.device_count)
        emu.current = 0;
}

void ooc_emu_set_device_memory(size_t nbytes)
{
    emu_init();
    emu.device_memory = nbytes;
}

void ooc_emu_set_pinned_available(bool available)
{
    emu_init();
    emu.pinned_available = available;
}

size_t ooc_emu_pending_ops(void)
{
    emu_init();
    size_t n = 0;
    for (int d = 0; d < EMU_MAX_DEVICES; d++)
        n += emu.defaults[d].enqueued - emu.defaults[d].executed;
    for (struct CUstream_st *s = emu.streams; s; s = s->next_all)
        n += s->enqueued - s->executed;
    return n;
}

const char *ooc_emu_last_diagnostic(void)
{
    return emu.diagnostic;
}

bool ooc_emu_is_device_pointer(const void *ptr)
{
    emu_init();
    return find_region(ptr) != NULL;
}

/* -------------------------------------------------------- CUDA runtime -- */

const char *cudaGetErrorName(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidPitchValue: return "cudaErrorInvalidPitchValue";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorNoDevice: return "cudaErrorNoDevice";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalAddress: return "cudaErrorIllegalAddress";
    default: return "cudaErrorUnknown";
    }
}

const char *cudaGetErrorString(cudaError_t error)
{
    switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidPitchValue: return "invalid pitch argument";
    case cudaErrorInvalidMemcpyDirection: return "invalid copy direction for memcpy";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidDevice: return "invalid device ordinal";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorIllegalAddress: return "an illegal memory access was encountered";
    default: return "unknown error";
    }
}

cudaError_t cudaGetLastError(void)
{
    cudaError_t e = emu.last_error;
    emu.last_error = cudaSuccess;
    return e;
}

cudaError_t cudaGetDeviceCount(int *count)
{
    emu_init();
    if (!count)
        return fail_rt(cudaErrorInvalidValue);
    *count = emu.device_count;
    return emu.device_count > 0 ? cudaSuccess : fail_rt(cudaErrorNoDevice);
}

cudaError_t cudaGetDeviceProperties(struct cudaDeviceProp *prop, int device)
{
    emu_init();
    if (!prop)
        return fail_rt(cudaErrorInvalidValue);
    if (device < 0 || device >= emu.device_count)
        return fail_rt(cudaErrorInvalidDevice);
    memset(prop, 0, sizeof *prop);
    snprintf(prop->name, sizeof prop->name, "oocsolve CUDA emulator");
    prop->totalGlobalMem = emu.device_memory;
    prop->major = 8;
    prop->minor = 0;
    prop->multiProcessorCount = 1;
    return cudaSuccess;
}

cudaError_t cudaSetDevice(int device)
{
    emu_init();
    if (device < 0 || device >= emu.device_count)
        return fail_rt(cudaErrorInvalidDevice);
    emu.current = device;
    return cudaSuccess;
}

cudaError_t cudaGetDevice(int *device)
{
    emu_init();
    if (!device)
        return fail_rt(cudaErrorInvalidValue);
    *device = emu.current;
    return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize(void)
{
    emu_init();
    drain_device(emu.current, false);
    return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t *free_bytes, size_t *total_bytes)
{
    emu_init();
    if (!free_bytes || !total_bytes)
        return fail_rt(cudaErrorInvalidValue);
    *total_bytes = emu.device_memory;
    *free_bytes = emu.device_memory > emu.used[emu.current]
                      ? emu.device_memory - emu.used[emu.current] : 0;
    return cudaSuccess;
}

cudaError_t cudaMalloc(void **devPtr, size_t size)
{
    emu_init();
    if (!devPtr)
        return fail_rt(cudaErrorInvalidValue);
    *devPtr = NULL;
    if (emu.device_count == 0)
        return fail_rt(cudaErrorNoDevice);
    size_t accounted = (size + 255) / 256 * 256;
    if (size > emu.device_memory || accounted > emu.device_memory - emu.used[emu.current])
        return fail_rt(cudaErrorMemoryAllocation);
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t mapped = (size == 0 ? 1 : (size + page - 1) / page) * page;
    emu_region *r = calloc(1, sizeof *r);
    void *base = mmap(NULL, mapped, emu.open_depth > 0 ? PROT_READ | PROT_WRITE : PROT_NONE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (!r || base == MAP_FAILED) {
        free(r);
        if (base != MAP_FAILED)
            munmap(base, mapped);
        return fail_rt(cudaErrorMemoryAllocation);
    }
    r->base = base;
    r->nbytes = size;
    r->mapped = mapped;
    r->accounted = accounted;
    r->device = emu.current;
    r->next = emu.regions;
    emu.regions = r;
    emu.used[emu.current] += accounted;
    *devPtr = base;
    return cudaSuccess;
}

cudaError_t cudaFree(void *devPtr)
{
    emu_init();
    if (!devPtr)
        return cudaSuccess;
    emu_region **link = &emu.regions;
    while (*link && (*link)->base != devPtr)
        link = &(*link)->next;
    if (!*link) {
        emu_diagnose("cudaFree(%p): not an allocation base", devPtr);
        return fail_rt(cudaErrorInvalidValue);
    }
    /* cudaFree synchronises the device before releasing memory */
    for (int d = 0; d < emu.device_count; d++)
        drain_device(d, false);
    emu_region *r = *link;
    *link = r->next;
    emu.used[r->device] -= r->accounted;
    munmap(r->base, r->mapped);
    free(r);
    return cudaSuccess;
}

cudaError_t cudaHostAlloc(void **pHost, size_t size, unsigned int flags)
{
    emu_init();
    if (!pHost)
        return fail_rt(cudaErrorInvalidValue);
    *pHost = NULL;
    if (flags > 0x0f)
        return fail_rt(cudaErrorInvalidValue);
    if (!emu.pinned_available)
        return fail_rt(cudaErrorMemoryAllocation);
    emu_pinned *h = calloc(1, sizeof *h);
    void *p = NULL;
    if (!h || posix_memalign(&p, 4096, size ? size : 1) != 0) {
        free(h);
        return fail_rt(cudaErrorMemoryAllocation);
    }
    h->base = p;
    h->nbytes = size;
    h->next = emu.pinned;
    emu.pinned = h;
    *pHost = p;
    return cudaSuccess;
}

cudaError_t cudaFreeHost(void *ptr)
{
    emu_init();
    if (!ptr)
        return cudaSuccess;
    emu_pinned **link = &emu.pinned;
    while (*link && (*link)->base != ptr)
        link = &(*link)->next;
    if (!*link) {
        emu_diagnose("cudaFreeHost(%p): not cudaHostAlloc memory", ptr);
        return fail_rt(cudaErrorInvalidValue);
    }
    for (int d = 0; d < emu.device_count; d++)
        drain_device(d, false);
    emu_pinned *h = *link;
    *link = h->next;
    free(h->base);
    free(h);
    return cudaSuccess;
}

cudaError_t cudaStreamCreateWithFlags(cudaStream_t *pStream, unsigned int flags)
{
    emu_init();
    if (!pStream || (flags & ~(unsigned)cudaStreamNonBlocking))
        return fail_rt(cudaErrorInvalidValue);
    struct CUstream_st *s = calloc(1, sizeof *s);
    if (!s)
        return fail_rt(cudaErrorMemoryAllocation);
    s->device = emu.current;
    s->flags = flags;
    s->next_all = emu.streams;
    emu.streams = s;
    *pStream = s;
    return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream)
{
    emu_init();
    struct CUstream_st **link = &emu.streams;
    while (*link && *link != stream)
        link = &(*link)->next_all;
    if (!stream || !*link)
        return fail_rt(cudaErrorInvalidResourceHandle);
    drain(stream);
    /* events recorded on it are complete now */
    for (struct CUevent_st *e = emu.events; e; e = e->next_all)
        if (e->stream == stream)
            e->stream = NULL;
    *link = stream->next_all;
    free(stream);
    return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream)
{
    emu_init();
    drain(resolve_stream(stream));
    return cudaSuccess;
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t *event, unsigned int flags)
{
    emu_init();
    if (!event || (flags & ~0x0fu))
        return fail_rt(cudaErrorInvalidValue);
    struct CUevent_st *e = calloc(1, sizeof *e);
    if (!e)
        return fail_rt(cudaErrorMemoryAllocation);
    e->next_all = emu.events;
    emu.events = e;
    *event = e;
    return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event)
{
    emu_init();
    struct CUevent_st **link = &emu.events;
    while (*link && *link != event)
        link = &(*link)->next_all;
    if (!event || !*link)
        return fail_rt(cudaErrorInvalidResourceHandle);
    *link = event->next_all;
    free(event);
    return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    struct CUstream_st *s = resolve_stream(stream);
    emu_op *op = emu_new_op(OP_RECORD);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    emu_enqueue(s, op);
    event->stream = s;
    event->seq = op->seq;
    return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    if (event->stream && event->stream->executed < event->seq) {
        emu.stats.sync_points++;
        run_stream_until(event->stream, event->seq);
    }
    return cudaSuccess;
}

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int flags)
{
    emu_init();
    if (!event)
        return fail_rt(cudaErrorInvalidResourceHandle);
    if (flags != 0)
        return fail_rt(cudaErrorInvalidValue);
    struct CUstream_st *s = resolve_stream(stream);
    if (!event->stream)
        return cudaSuccess;   /* never recorded or already complete: no dependency */
    emu_op *op = emu_new_op(OP_WAIT);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->wait_stream = event->stream;
    op->wait_seq = event->seq;
    emu_enqueue(s, op);
    return cudaSuccess;
}

/* Check a copy of height rows x width bytes against kind and pointer homes. */
static cudaError_t check_copy(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind, int device,
                              const char *what)
{
    if (width == 0 || height == 0)
        return cudaSuccess;
    if (!dst || !src) {
        emu_diagnose("%s: NULL pointer", what);
        return cudaErrorInvalidValue;
    }
    size_t dspan = (height - 1) * dpitch + width, sspan = (height - 1) * spitch + width;
    bool dst_dev = find_region(dst) != NULL, src_dev = find_region(src) != NULL;
    if (kind == cudaMemcpyDefault) {
        kind = dst_dev ? (src_dev ? cudaMemcpyDeviceToDevice : cudaMemcpyHostToDevice)
                       : (src_dev ? cudaMemcpyDeviceToHost : cudaMemcpyHostToHost);
    }
    bool want_dst_dev = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
    bool want_src_dev = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
    if ((int)kind < 0 || (int)kind > 4 || dst_dev != want_dst_dev || src_dev != want_src_dev) {
        emu_diagnose("%s: kind %d does not match pointers (dst %s, src %s)", what, (int)kind,
                     dst_dev ? "device" : "host", src_dev ? "device" : "host");
        return cudaErrorInvalidMemcpyDirection;
    }
    if ((dst_dev && !emu_device_range_ok(dst, dspan, device, what)) ||
        (src_dev && !emu_device_range_ok(src, sspan, device, what)))
        return cudaErrorInvalidValue;
    if (kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToHost) {
        const void *host = kind == cudaMemcpyHostToDevice ? src : dst;
        size_t span = kind == cudaMemcpyHostToDevice ? sspan : dspan;
        if (kind == cudaMemcpyHostToDevice) {
            emu.stats.h2d_bytes += width * height;
            emu.traffic.h2d_bytes += width * height;
        } else {
            emu.stats.d2h_bytes += width * height;
            emu.traffic.d2h_bytes += width * height;
        }
        if (is_pinned(host, span)) {
            emu.stats.pinned_copies++;
            emu.stats.pinned_bytes += width * height;
        } else {
            emu.stats.pageable_copies++;
            emu.stats.pageable_bytes += width * height;
        }
    }
    return cudaSuccess;
}

static cudaError_t queue_copy(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              struct CUstream_st *s, const char *what)
{
    cudaError_t e = check_copy(dst, dpitch, src, spitch, width, height, kind, s->device, what);
    if (e != cudaSuccess)
        return fail_rt(e);
    emu_op *op = emu_new_op(OP_COPY);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->dst = dst;
    op->src = src;
    op->dpitch = dpitch;
    op->spitch = spitch;
    op->width = width;
    op->height = height;
    emu_enqueue(s, op);
    return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind,
                            cudaStream_t stream)
{
    emu_init();
    return queue_copy(dst, count, src, count, count, 1, kind, resolve_stream(stream),
                      "cudaMemcpyAsync");
}

cudaError_t cudaMemcpy2DAsync(void *dst, size_t dpitch, const void *src, size_t spitch,
                              size_t width, size_t height, enum cudaMemcpyKind kind,
                              cudaStream_t stream)
{
    emu_init();
    if (height > 1 && (width > dpitch || width > spitch)) {
        emu_diagnose("cudaMemcpy2DAsync: width %zu exceeds pitch (dst %zu, src %zu)", width,
                     dpitch, spitch);
        return fail_rt(cudaErrorInvalidPitchValue);
    }
    return queue_copy(dst, dpitch, src, spitch, width, height, kind, resolve_stream(stream),
                      "cudaMemcpy2DAsync");
}

cudaError_t cudaMemcpy(void *dst, const void *src, size_t count, enum cudaMemcpyKind kind)
{
    emu_init();
    struct CUstream_st *s = &emu.defaults[emu.current];
    cudaError_t e = queue_copy(dst, count, src, count, count, 1, kind, s, "cudaMemcpy");
    if (e != cudaSuccess)
        return e;
    /* legacy default stream: waits for the blocking streams, then completes */
    drain_device(emu.current, true);
    return cudaSuccess;
}

cudaError_t cudaMemsetAsync(void *devPtr, int value, size_t count, cudaStream_t stream)
{
    emu_init();
    struct CUstream_st *s = resolve_stream(stream);
    if (!emu_device_range_ok(devPtr, count, s->device, "cudaMemsetAsync"))
        return fail_rt(cudaErrorInvalidValue);
    emu_op *op = emu_new_op(OP_MEMSET);
    if (!op)
        return fail_rt(cudaErrorMemoryAllocation);
    op->dst = devPtr;
    op->iarg[0] = value;
    op->width = count;
    emu_enqueue(s, op);
    return cudaSuccess;
}
