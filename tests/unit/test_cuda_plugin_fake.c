/*
 * test_cuda_plugin_fake.c — modules the CUDA plugin loader must refuse
 * (tests/unit/test_cuda_plugin.c), one per definition:
 *   OOC_FAKE_PLUGIN_abi      the entry returns a table of another ABI version;
 *   OOC_FAKE_PLUGIN_sizes    the right version, but a struct size that differs
 *                            (a layout change made without bumping the version);
 *   OOC_FAKE_PLUGIN_noentry  a shared object without the entry symbol.
 * None of the table's functions may be called, so they are left NULL.
 */
#include "backend/device.h"

#if defined(OOC_FAKE_PLUGIN_abi) || defined(OOC_FAKE_PLUGIN_sizes)
static const ooc_cuda_plugin fake_table = {
#ifdef OOC_FAKE_PLUGIN_abi
    .abi_version = OOC_CUDA_PLUGIN_ABI + 1,
    .sizeof_error = sizeof(ooc_error),
#else
    .abi_version = OOC_CUDA_PLUGIN_ABI,
    .sizeof_error = sizeof(ooc_error) + 8,
#endif
    .sizeof_backend = sizeof(ooc_backend),
    .sizeof_backend_ops = sizeof(ooc_backend_ops),
    .sizeof_backend_options = sizeof(ooc_cuda_backend_options),
    .sizeof_device_info = sizeof(ooc_cuda_device_info),
    .sizeof_raw_block = sizeof(ooc_raw_block),
    .sizeof_raw_chunk = sizeof(ooc_raw_chunk),
    .sizeof_scan_spec = sizeof(ooc_scan_spec),
    .decoders = "",
};

const ooc_cuda_plugin *ooc_cuda_plugin_entry(void)
{
    return &fake_table;
}
#else
/* A loadable module with some other export. */
int ooc_fake_plugin_marker(void);
int ooc_fake_plugin_marker(void)
{
    return 42;
}
#endif
