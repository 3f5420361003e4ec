# OocCompression.cmake — the libraries that decompress CSV input on the fly
# (host/src/bytesource.c): zlib (.gz), libzstd (.zst), libbz2 (.bz2) and
# liblzma (.xz).  Each is optional: the interface target ooc_compression
# carries OOC_HAVE_<NAME> and the library for every one found, and a CSV in a
# missing format is refused with a message saying so.  cmake/bootstrap.sh
# installs all four (zlib1g-dev libzstd-dev libbz2-dev liblzma-dev).
find_package(ZLIB)
find_package(Zstd)
find_package(BZip2)
find_package(LibLZMA)
add_library(ooc_compression INTERFACE)
set(OOC_COMPRESSION_FORMATS "")
foreach(lib IN ITEMS "ZLIB;ZLIB::ZLIB;ZLIB;gzip" "Zstd;Zstd::Zstd;ZSTD;zstd"
                     "BZip2;BZip2::BZip2;BZIP2;bzip2" "LibLZMA;LibLZMA::LibLZMA;LZMA;xz")
  list(GET lib 0 package)
  list(GET lib 1 target)
  list(GET lib 2 define)
  list(GET lib 3 format)
  if(${package}_FOUND)
    target_compile_definitions(ooc_compression INTERFACE OOC_HAVE_${define}=1)
    target_link_libraries(ooc_compression INTERFACE ${target})
    list(APPEND OOC_COMPRESSION_FORMATS ${format})
  endif()
endforeach()
list(JOIN OOC_COMPRESSION_FORMATS " " OOC_COMPRESSION_SHOWN)
message(STATUS "oocsolve compressed CSV input: ${OOC_COMPRESSION_SHOWN}")
