# OocWarnings.cmake — ooc_set_warnings(target): the project's warning set;
# -Werror when OOC_WERROR is ON (CI turns it on).
function(ooc_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wformat=2
    -Wstrict-prototypes -Wmissing-prototypes -Wvla -Wno-unused-parameter)
  if(OOC_WERROR)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()
