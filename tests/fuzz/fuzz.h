/*
 * fuzz.h - the one entry point every fuzz target exports.
 *
 * libFuzzer (make fuzz) calls it with generated inputs; replay.c (make
 * check) calls it with the seed corpora and the crash regressions. A
 * target reports a broken invariant by abort(), so both notice.
 */
#ifndef SS_FUZZ_H
#define SS_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif /* SS_FUZZ_H */
