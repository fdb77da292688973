/*
 * strbuf.h - a growing string, for replies put together piece by piece
 * (the control socket's tables, JSON, the metrics text).
 */
#ifndef SS_STRBUF_H
#define SS_STRBUF_H

#include <stdbool.h>
#include <stddef.h>

struct strbuf {
	char *data;		/* NUL-terminated, or NULL while empty */
	size_t len, cap;
	bool failed;		/* out of memory once: the text is cut */
};

void strbuf_printf(struct strbuf *sb, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A JSON string literal of s, quotes included. */
void strbuf_json_string(struct strbuf *sb, const char *s);
void strbuf_free(struct strbuf *sb);

#endif /* SS_STRBUF_H */
