# OocWarnings.cmake — ooc_set_warnings(target): the project's warning set;
# -Werror when OOC_WERROR is ON (CI turns it on).  C sources only: nvcc (device/decode_kernels.cu)
# takes other flags.
function(ooc_set_warnings target)
  target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Wall -Wextra -Wpedantic
    -Wshadow -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter>)
  if(OOC_WERROR)
    target_compile_options(${target} PRIVATE $<$<COMPILE_LANGUAGE:C>:-Werror>)
  endif()
endfunction()
