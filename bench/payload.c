/*
 * payload.c - request lines, expected replies and the bulk stream (see
 * payload.h).
 */
#include <stdlib.h>
#include <string.h>

#include "payload.h"

/*
 * Both templates hold line after line of the pattern, long enough that
 * a copy may start at any rotation (up to 26) or stream offset (up to
 * size) and still run for a whole line or chunk.
 */
int
ss_payload_init(struct ss_payload *p, size_t size, enum ss_expect e)
{
	size_t len = size + SS_PAYLOAD_CHUNK + 26;

	p->size = size;
	p->expect = e;
	p->lower = malloc(len);
	p->upper = malloc(len);
	if (p->lower == NULL || p->upper == NULL) {
		ss_payload_free(p);
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		size_t col = i % size;
		char c = col == size - 1 ? '\n' : (char)('a' + col % 26);

		p->lower[i] = c;
		p->upper[i] = c == '\n' ? c : (char)(c - 'a' + 'A');
	}
	return 0;
}

void
ss_payload_free(struct ss_payload *p)
{
	free(p->lower);
	free(p->upper);
	p->lower = p->upper = NULL;
}

static void
put_seq(char *buf, uint64_t seq)
{
	for (int i = SS_PAYLOAD_SEQ_DIGITS - 1; i >= 0; i--) {
		buf[i] = (char)('0' + seq % 10);
		seq /= 10;
	}
	buf[SS_PAYLOAD_SEQ_DIGITS] = ' ';
}

void
ss_payload_request(const struct ss_payload *p, uint64_t seq, char *req,
    char *exp)
{
	size_t rot = seq % 26, body = p->size - 1;

	/* A loop rather than a template copy: lines are short here, and the
	 * rotation must never carry the template's '\n' into the body. */
	for (size_t i = 0; i < body; i++)
		req[i] = (char)('a' + (i + rot) % 26);
	req[body] = '\n';
	if (p->size >= SS_PAYLOAD_SEQ_DIGITS + 2)
		put_seq(req, seq);
	if (exp == NULL || p->expect == SS_EXPECT_ANY)
		return;
	memcpy(exp, req, p->size);
	if (p->expect == SS_EXPECT_UPPER)
		for (size_t i = 0; i < body; i++)
			if (exp[i] >= 'a' && exp[i] <= 'z')
				exp[i] = (char)(exp[i] - 'a' + 'A');
}

bool
ss_payload_check(const struct ss_payload *p, const char *exp,
    const char *reply, size_t n)
{
	if (p->expect == SS_EXPECT_ANY)
		return n > 0;
	return n == p->size && memcmp(exp, reply, n) == 0;
}

uint64_t
ss_payload_seq_of(const struct ss_payload *p, const char *reply, size_t n)
{
	uint64_t seq = 0;

	if (p->size < SS_PAYLOAD_SEQ_DIGITS + 2 ||
	    n < SS_PAYLOAD_SEQ_DIGITS + 1 ||
	    reply[SS_PAYLOAD_SEQ_DIGITS] != ' ')
		return UINT64_MAX;
	for (int i = 0; i < SS_PAYLOAD_SEQ_DIGITS; i++) {
		if (reply[i] < '0' || reply[i] > '9')
			return UINT64_MAX;
		seq = seq * 10 + (uint64_t)(reply[i] - '0');
	}
	return seq;
}

const char *
ss_payload_stream(const struct ss_payload *p, uint64_t offset)
{
	return p->lower + offset % p->size;
}

const char *
ss_payload_reply_stream(const struct ss_payload *p, uint64_t offset)
{
	return (p->expect == SS_EXPECT_UPPER ? p->upper : p->lower) +
	    offset % p->size;
}
