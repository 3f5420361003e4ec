# OocSanitizers.cmake — with OOC_SANITIZE=ON every target is built and linked
# with AddressSanitizer + UndefinedBehaviorSanitizer (UB aborts the test).
if(OOC_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-sanitize-recover=undefined
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=address,undefined)
endif()
