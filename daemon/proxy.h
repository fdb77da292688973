/*
 * proxy.h - HAProxy's PROXY protocol, versions 1 (text) and 2 (binary):
 * the header a load balancer puts in front of a connection to name the
 * client it forwards.
 */
#ifndef SS_PROXY_H
#define SS_PROXY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* The longest v1 header, "PROXY TCP6 <ip6> <ip6> 65535 65535\r\n". */
#define PROXY_V1_MAX 107
/*
 * The longest v2 header accepted: the 16 fixed bytes, a unix address
 * block (216) and room for TLVs. HAProxy's own headers are far shorter.
 */
#define PROXY_V2_MAX 1024
#define PROXY_MAX PROXY_V2_MAX

struct proxy_header {
	size_t len;		/* bytes the header takes */
	int version;		/* 1 or 2 */
	/*
	 * True: src and dst are the client's and the proxy's addresses.
	 * False (v1 UNKNOWN, v2 LOCAL, v2 UNSPEC or unix families): the
	 * connection's own endpoints stand.
	 */
	bool proxied;
	struct sockaddr_storage src, dst;
	socklen_t srclen, dstlen;
};

/*
 * Parses a header at the start of buf[0..n). Returns 1 when a whole
 * header is there (h filled, h->len bytes of it), 0 when buf is a valid
 * start of one and more bytes are needed, -1 when it is not a header,
 * is malformed or longer than allowed (*error_r says which). Never reads
 * past what a header can take, so input that follows it is left alone.
 */
int proxy_parse(const void *buf, size_t n, struct proxy_header *h,
    const char **error_r);

/*
 * CRC32c (Castagnoli) of buf[0..n), as a v2 header's PP2_TYPE_CRC32C TLV
 * carries it; proxy_parse refuses a header whose TLV does not match.
 */
uint32_t proxy_crc32c(const void *buf, size_t n);

#endif /* SS_PROXY_H */
