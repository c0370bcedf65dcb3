/*
 * testdata.h - where a unit test finds its sample files: tests/data/<subdir>/
 * from the repository root (how tests/run.py runs the programs), from the
 * build directory (meson test), or under $BENCHSIDE_TEST_DATA.
 */
#ifndef BENCHSIDE_TESTS_TESTDATA_H
#define BENCHSIDE_TESTS_TESTDATA_H

#include <stddef.h>

/* The path of tests/data/<subdir>/<name> into out (size n), or NULL when the
 * file is nowhere to be found. */
const char *testdata_path(const char *subdir, const char *name, char *out, size_t n);

#endif
