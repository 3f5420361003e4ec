/*
 * oocsolve/export.h — OOC_API, the mark on every public function of liboocsolve.
 *
 * The library's objects are compiled with hidden visibility (-fvisibility=hidden)
 * and OOC_BUILDING_LIBRARY defined (host/CMakeLists.txt); OOC_API gives the
 * functions it marks default visibility there, so that liboocsolve.so exports
 * the public API and nothing else.  liboocsolve.a holds the same objects.
 *
 * Everywhere else OOC_API is empty: a program or library using liboocsolve
 * (shared or static) needs no import marker on ELF, and code that compiles
 * some of the library's sources into a module of its own (the CUDA plugin
 * builds error.c) keeps those symbols hidden in it.
 */
#ifndef OOCSOLVE_EXPORT_H
#define OOCSOLVE_EXPORT_H

#if defined(OOC_BUILDING_LIBRARY) && defined(__GNUC__)
#define OOC_API __attribute__((visibility("default")))
#else
#define OOC_API
#endif

#endif /* OOCSOLVE_EXPORT_H */
