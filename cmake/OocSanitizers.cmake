# OocSanitizers.cmake — with OOC_SANITIZE=ON every target is built and linked
# with AddressSanitizer + UndefinedBehaviorSanitizer (UB aborts the test).  C and C++ sources:
# nvcc (device/decode_kernels.cu) takes none of these flags; the link (g++) still adds the runtime.
if(OOC_SANITIZE)
  add_compile_options($<$<COMPILE_LANGUAGE:C,CXX>:-fsanitize=address,undefined>
                      $<$<COMPILE_LANGUAGE:C,CXX>:-fno-sanitize-recover=undefined>
                      $<$<COMPILE_LANGUAGE:C,CXX>:-fno-omit-frame-pointer> $<$<COMPILE_LANGUAGE:C,CXX>:-g>)
  add_link_options(-fsanitize=address,undefined)
endif()
