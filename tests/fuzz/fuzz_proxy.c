/*
 * fuzz_proxy.c - the PROXY header parser, on the raw input as a peer
 * would send it.
 *
 * Beyond "does not crash": the verdict does not depend on bytes past the
 * header (input that follows it is the client's), every prefix of an
 * accepted header asks for more, a header never claims more bytes than it
 * was given or than PROXY_MAX, and an address it reports is IPv4 or IPv6.
 */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proxy.h"

static void
check_header(const uint8_t *data, size_t size, const struct proxy_header *h)
{
	struct proxy_header again;
	const char *error = NULL;
	size_t i;

	if (h->len == 0 || h->len > size || h->len > PROXY_MAX)
		abort();
	if (h->version != 1 && h->version != 2)
		abort();
	if (h->proxied && ((h->src.ss_family != AF_INET &&
	    h->src.ss_family != AF_INET6) || h->src.ss_family !=
	    h->dst.ss_family || h->srclen != h->dstlen))
		abort();
	/* The header alone gives the same verdict as the header and more. */
	if (proxy_parse(data, h->len, &again, &error) != 1 ||
	    again.len != h->len || again.proxied != h->proxied ||
	    (h->proxied && memcmp(&again.src, &h->src, h->srclen) != 0))
		abort();
	/* A header cut short waits for the rest; it is never refused. */
	for (i = 0; i < h->len; i++)
		if (proxy_parse(data, i, &again, &error) != 0)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	const char *error = NULL;
	int r;

	r = proxy_parse(data, size, &h, &error);
	if (r == 1)
		check_header(data, size, &h);
	else if (r < 0 && (error == NULL || *error == '\0'))
		abort();
	else if (r == 0 && size >= PROXY_MAX)
		abort();
	return 0;
}
