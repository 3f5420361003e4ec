/*
 * device.h — the CUDA backend as seen from host code.  Only device/ includes
 * CUDA headers; this header does not, so host code (backend_select.c) can
 * include it whether or not the build has CUDA.
 *
 * The backend is built as a plugin, OOC_CUDA_PLUGIN_FILE (a shared module
 * linking the CUDA runtime, cuBLAS and cuSOLVER), that the host dlopen()s only
 * when a GPU is asked for: the oocsolve executable itself links no CUDA
 * library.  The plugin exports one symbol, OOC_CUDA_PLUGIN_ENTRY, returning
 * an ooc_cuda_plugin table.  The functions declared below are what the table
 * points to; they are also linked directly into the test programs.
 */
#ifndef OOC_DEVICE_H
#define OOC_DEVICE_H

#include "backend/backend.h"
#include "oocsolve.h"

#include <stddef.h>
#include <stdint.h>

/* Most GPUs one backend drives (gpu:0,1,...). */
#define OOC_CUDA_MAX_DEVICES 16

/* What `oocsolve devices` prints about one GPU. */
typedef struct ooc_cuda_device_info {
    char name[256];
    size_t total_bytes;   /* global memory */
    int cc_major;         /* compute capability */
    int cc_minor;
    int multiprocessors;
} ooc_cuda_device_info;

/* Number of CUDA devices the runtime reports.  When none (or the runtime
 * cannot start), returns 0 and writes the runtime's reason ("cudaErrorNoDevice:
 * no CUDA-capable device is detected") into why (why_size bytes, may be 0). */
int ooc_cuda_device_count(char *why, size_t why_size);

/* Properties of device `index`.  Errors: OOC_ERR_BACKEND (runtime error, message names it). */
ooc_status ooc_cuda_device_query(int index, ooc_cuda_device_info *info, ooc_error *err);

/* Options of the CUDA backend. */
typedef struct ooc_cuda_backend_options {
    const int *devices;   /* device ordinals; NULL: device 0 */
    int ndevices;         /* entries in devices (1..OOC_CUDA_MAX_DEVICES); 0: 1 */
    size_t panel_rows;    /* rows per device staging buffer; 0: 65536.  Halved on device OOM. */
    ooc_log_sink log;     /* notes (panel fallback) and warnings (pageable fallback) */
    ooc_gpu_decode gpu_decode; /* decode deflate chunks on the GPU (nvCOMP): 0 auto (when the
                                * plugin has nvCOMP and drives one GPU), on, off */
} ooc_cuda_backend_options;

/* Create the CUDA backend: streams, events, cuBLAS/cuSOLVER handles on each
 * device.  Device buffers are sized in begin().  With several devices,
 * blocks are dealt round-robin and the partial triangles merged at finish.
 * caps.allocator hands out pinned host memory (cudaHostAlloc; pageable with
 * a warning when pinning fails); its free function needs no backend, so ring
 * buffers may outlive the backend, but alloc must be called while it lives.
 * Free with ooc_backend_free.
 * Built with nvCOMP (OOC_HAVE_NVCOMP), with gpu_decode not off, on one GPU,
 * and libnvcomp loading, caps.raw_codecs is OOC_RAW_ZLIB and accumulate_raw
 * inflates deflate chunks on the device (backend_cuda.c says how).
 * Errors: OOC_ERR_INVALID_ARG (device list), OOC_ERR_BACKEND (CUDA, cuBLAS or
 * cuSOLVER failure; the message names the library status and the call),
 * OOC_ERR_UNSUPPORTED (gpu_decode on, and no nvCOMP, it does not load, or
 * several GPUs),
 * OOC_ERR_NOMEM. */
ooc_status ooc_cuda_backend_create(const ooc_cuda_backend_options *opts, ooc_backend **out,
                                   ooc_error *err);

/* ------------------------------------------------------- plugin ABI -- */

/* File name of the plugin (CMake's OUTPUT_NAME of the oocsolve_cuda target). */
#define OOC_CUDA_PLUGIN_FILE "oocsolve_cuda.so"

/* Name of the exported entry point (type ooc_cuda_plugin_entry_fn). */
#define OOC_CUDA_PLUGIN_ENTRY "ooc_cuda_plugin_entry"

/* Version of the table below and of everything it passes across the
 * boundary (ooc_backend, ooc_backend_ops, ooc_backend_caps, ooc_allocator,
 * ooc_error, ooc_log_sink, ooc_cuda_backend_options, ooc_cuda_device_info,
 * ooc_raw_block, ooc_raw_chunk and ooc_scan_spec with block_scan.h's order).
 * Bump it when any of them changes shape or meaning.  The loader also compares
 * the struct sizes the plugin was compiled with, to catch a forgotten bump. */
#define OOC_CUDA_PLUGIN_ABI 7u   /* 2: ooc_backend_ops gained solve_triangle, svd_triangle;
                                  * 3: ooc_backend_caps lost preferred_block_rows;
                                  * 4: ooc_backend_ops lost hc_meat (the host HC pass, now
                                  *    solve/second_passes.c);
                                  * 5: ooc_backend gained pass_owner;
                                  * 6: ooc_backend_ops gained accumulate_raw, ooc_backend_caps
                                  *    raw_codecs and raw_requested, the options gpu_decode,
                                  *    the table the raw structs' sizes and `decoders`;
                                  * 7: accumulate_raw scans the rows on the device
                                  *    (ooc_scan_spec, block_scan.h) instead of copying
                                  *    them back; the table gained sizeof_scan_spec */

/* The plugin's table.  abi_version stays the first member in every version so
 * that a loader can read it from a plugin of any version. */
typedef struct ooc_cuda_plugin {
    uint32_t abi_version;            /* OOC_CUDA_PLUGIN_ABI of the plugin's build */
    uint32_t sizeof_backend;         /* sizeof(ooc_backend) ... as the plugin was compiled */
    uint32_t sizeof_backend_ops;
    uint32_t sizeof_error;
    uint32_t sizeof_backend_options;
    uint32_t sizeof_device_info;
    uint32_t sizeof_raw_block;
    uint32_t sizeof_raw_chunk;
    uint32_t sizeof_scan_spec;
    const char *decoders;            /* what the GPU can decode, for `oocsolve devices`
                                      * ("deflate (nvCOMP 6.0.0)"); "" when nothing */
    int (*device_count)(char *why, size_t why_size);                      /* ooc_cuda_device_count */
    ooc_status (*device_query)(int index, ooc_cuda_device_info *info,     /* ooc_cuda_device_query */
                               ooc_error *err);
    ooc_status (*backend_create)(const ooc_cuda_backend_options *opts,    /* ooc_cuda_backend_create */
                                 ooc_backend **out, ooc_error *err);
} ooc_cuda_plugin;

typedef const ooc_cuda_plugin *(*ooc_cuda_plugin_entry_fn)(void);

/* The plugin's entry point: a pointer to its static table (never NULL). */
const ooc_cuda_plugin *ooc_cuda_plugin_entry(void);

#endif
