/*
 * payload.h - what sockserv-bench sends and what it expects back.
 *
 * A request line of `size` bytes is letters ending in '\n'; lines of 12
 * bytes or more start with the request's sequence number in 10 decimal
 * digits and a space, so a late datagram reply is told from a wrong one.
 * Consecutive requests differ (the letters rotate with the sequence
 * number), so a stale reply never passes for a fresh one. The bulk
 * stream is the same line over and over: byte o of it is fixed by o.
 */
#ifndef SS_BENCH_PAYLOAD_H
#define SS_BENCH_PAYLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ss_expect { SS_EXPECT_ECHO, SS_EXPECT_UPPER, SS_EXPECT_ANY };

struct ss_payload {
	size_t size;		/* bytes per line, '\n' included */
	enum ss_expect expect;
	char *lower;		/* size + 64 KiB + 26 bytes of the pattern */
	char *upper;		/* the same, upper-cased */
};

#define SS_PAYLOAD_SEQ_DIGITS 10
/* The most bytes of the bulk stream one call to ss_payload_stream gives. */
#define SS_PAYLOAD_CHUNK 65536

int ss_payload_init(struct ss_payload *p, size_t size, enum ss_expect e);
void ss_payload_free(struct ss_payload *p);

/*
 * Fills req (size bytes) with request number seq, and exp, when not
 * NULL, with the reply expected for it (unused with SS_EXPECT_ANY).
 */
void ss_payload_request(const struct ss_payload *p, uint64_t seq, char *req,
    char *exp);

/*
 * True when reply (n bytes) is a right answer to req for p->expect: for
 * echo and upper the expected bytes exactly, for any a non-empty reply.
 */
bool ss_payload_check(const struct ss_payload *p, const char *exp,
    const char *reply, size_t n);

/*
 * The sequence number a reply carries in front, or UINT64_MAX when it
 * carries none (short lines, or not one of ours).
 */
uint64_t ss_payload_seq_of(const struct ss_payload *p, const char *reply,
    size_t n);

/* The bulk stream from byte offset on, contiguous for SS_PAYLOAD_CHUNK. */
const char *ss_payload_stream(const struct ss_payload *p, uint64_t offset);
/* What an echo (or upper) server sends back from offset on, likewise. */
const char *ss_payload_reply_stream(const struct ss_payload *p,
    uint64_t offset);

#endif /* SS_BENCH_PAYLOAD_H */
