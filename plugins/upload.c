/*
 * upload.c - stores files sent as "post|NAME|SIZE\n" followed by exactly
 * SIZE bytes, and replies "ok SIZE SHA256HEX\n" once the file is safe on
 * disk. Several uploads may follow one another on a connection; any
 * "error REASON\n" reply ends it.
 *
 * Options: directory (required), max_size (bytes, default 1 GiB),
 * overwrite (default false), file_mode (octal string, default "0640");
 * any other key is refused.
 *
 * A file is written unnamed (O_TMPFILE), fsync'd, and only then linked
 * under its name, so a partial upload never appears under that name and
 * an interrupted one, or a process killed meanwhile, leaves nothing
 * behind. Where the file system lacks O_TMPFILE, a hidden ".upload-*"
 * file renamed into place takes its place; only a process killed
 * mid-upload can leave one of those. Names starting with '.' are refused,
 * so no client can reach a temporary file.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nettle/sha2.h>

#include <sockserv/plugin.h>

#define UPLOAD_MAX_SIZE_DEFAULT	(INT64_C(1) << 30)
#define UPLOAD_MODE_DEFAULT	0640
#define UPLOAD_NAME_MAX		255
/* Large reads keep the per-byte cost of the ss_read calls negligible. */
#define UPLOAD_CHUNK		(64 * 1024)
/*
 * The longest valid header, "post|" + 255 bytes of name + "|" + 19 digits
 * + "\r\n", fits with room to spare; a longer line is refused whole.
 */
#define UPLOAD_HEADER_MAX	512
/* A name with every byte escaped as \xHH, and its NUL. */
#define UPLOAD_PRINTABLE	(UPLOAD_NAME_MAX * 4 + 8)
#define UPLOAD_TEMP_PREFIX	".upload-"

struct upload_server {
	int dirfd;		/* the directory, opened once in init */
	char *directory;	/* its path, for log lines */
	int64_t max_size;
	bool overwrite;
	mode_t mode;
	bool tmpfile;		/* O_TMPFILE files can be linked (/proc) */
};

/* A file being received: unnamed, or under the hidden name in `temp`. */
struct upload_file {
	int fd;
	char temp[32];
};

/*
 * A connection's buffers, set up per request on the heap: a handler's
 * stack may be as small as thread_stack_size's 64 KiB.
 */
struct upload_conn {
	char chunk[UPLOAD_CHUNK];	/* body bytes on their way to disk */
	char header[UPLOAD_HEADER_MAX];
	char printable[UPLOAD_PRINTABLE];	/* a name, for a log line */
};

struct upload_header {
	const char *name;	/* NUL-terminated inside the header line */
	int64_t size;
};

/* --- files ---------------------------------------------------------------- */

/* A fresh hidden name in f->temp; -1 when there is no randomness. */
static int
upload_temp_name(struct upload_file *f)
{
	uint64_t r;

	if (getrandom(&r, sizeof(r), 0) != (ssize_t)sizeof(r))
		return -1;
	snprintf(f->temp, sizeof(f->temp), UPLOAD_TEMP_PREFIX "%016" PRIx64,
	    r);
	return 0;
}

/* A hidden file with a random name, for file systems without O_TMPFILE. */
static int
upload_create_hidden(const struct upload_server *us, struct upload_file *f)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (upload_temp_name(f) < 0)
			return -1;
		f->fd = openat(us->dirfd, f->temp, O_WRONLY | O_CREAT |
		    O_EXCL | O_NOFOLLOW | O_CLOEXEC, us->mode);
		if (f->fd >= 0 || errno != EEXIST)
			break;
	}
	if (f->fd < 0)
		f->temp[0] = '\0';
	return f->fd < 0 ? -1 : 0;
}

/*
 * Creates the file that receives an upload, with exactly the configured
 * mode: the umask the daemon inherited does not narrow it.
 */
static int
upload_create(const struct upload_server *us, struct upload_file *f)
{
	int saved;

	f->temp[0] = '\0';
	f->fd = -1;
	if (us->tmpfile)
		f->fd = openat(us->dirfd, ".", O_TMPFILE | O_WRONLY |
		    O_CLOEXEC, us->mode);
	/* The kernel or the file system has no O_TMPFILE. */
	if (f->fd < 0 && (!us->tmpfile || errno == EOPNOTSUPP ||
	    errno == EISDIR || errno == EINVAL) &&
	    upload_create_hidden(us, f) < 0)
		return -1;
	if (f->fd < 0)
		return -1;
	if (fchmod(f->fd, us->mode) < 0) {
		saved = errno;
		if (f->temp[0] != '\0')
			unlinkat(us->dirfd, f->temp, 0);
		close(f->fd);
		errno = saved;
		return -1;
	}
	return 0;
}

/* Drops a file that will not be kept; an unnamed one simply vanishes. */
static void
upload_discard(const struct upload_server *us, struct upload_file *f)
{
	if (f->temp[0] != '\0')
		unlinkat(us->dirfd, f->temp, 0);
	f->temp[0] = '\0';
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* Links an unnamed file under a new hidden name, to be renamed after. */
static int
upload_link_hidden(const struct upload_server *us, struct upload_file *f,
    const char *proc)
{
	int tries;

	for (tries = 0; tries < 100; tries++) {
		if (upload_temp_name(f) < 0)
			return -1;
		if (linkat(AT_FDCWD, proc, us->dirfd, f->temp,
		    AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST)
			break;
	}
	f->temp[0] = '\0';
	return -1;
}

/*
 * Gives the complete, synced file its name in one step. Without
 * overwrite, a file that appeared under the name since the header was
 * checked is never replaced: linkat and RENAME_NOREPLACE fail with
 * EEXIST. With overwrite, an existing file is replaced by rename(2), so
 * readers see either the old file or the new one.
 */
static int
upload_link(const struct upload_server *us, struct upload_file *f,
    const char *name)
{
	char proc[64];

	if (f->temp[0] == '\0') {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
		if (linkat(AT_FDCWD, proc, us->dirfd, name,
		    AT_SYMLINK_FOLLOW) == 0)
			return 0;
		if (errno != EEXIST || !us->overwrite ||
		    upload_link_hidden(us, f, proc) < 0)
			return -1;
	}
	if (us->overwrite) {
		if (renameat(us->dirfd, f->temp, us->dirfd, name) < 0)
			return -1;
	} else if (renameat2(us->dirfd, f->temp, us->dirfd, name,
	    RENAME_NOREPLACE) < 0) {
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		/* No RENAME_NOREPLACE here; link(2) never replaces either. */
		if (linkat(us->dirfd, f->temp, us->dirfd, name, 0) < 0)
			return -1;
		unlinkat(us->dirfd, f->temp, 0);
	}
	f->temp[0] = '\0';
	return 0;
}

/* write(2) until all n bytes are written. */
static int
upload_write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n > 0) {
		w = write(fd, buf, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -1;
		buf += w;
		n -= (size_t)w;
	}
	return 0;
}

/* --- init and fini -------------------------------------------------------- */

/* An octal mode of at most 0777, as "0640"; -1 when text is not one. */
static int
upload_parse_mode(const char *text, mode_t *mode_r)
{
	unsigned long mode;
	char *end;

	if (*text < '0' || *text > '7')
		return -1;
	errno = 0;
	mode = strtoul(text, &end, 8);
	if (*end != '\0' || errno != 0 || mode > 0777)
		return -1;
	*mode_r = (mode_t)mode;
	return 0;
}

/*
 * Reads the options into us and *directory_r. Returns -1 after
 * reporting every problem, each at its line.
 */
static int
upload_read_options(ss_server *srv, const config_setting_t *options,
    struct upload_server *us, const char **directory_r)
{
	const char *directory = NULL, *mode_text = NULL;
	size_t max_size = UPLOAD_MAX_SIZE_DEFAULT;
	const struct ss_option table[] = {
		{ "directory",	SS_OPTION_STRING, &directory,      0, 0 },
		{ "max_size",	SS_OPTION_SIZE,   &max_size,       1, INT64_MAX },
		{ "overwrite",	SS_OPTION_BOOL,   &us->overwrite,  0, 0 },
		{ "file_mode",	SS_OPTION_STRING, &mode_text,      0, 0 },
		{ NULL,		0,                NULL,            0, 0 },
	};
	int rc = ss_options(srv, options, table);

	/* One of the wrong type has been reported already. */
	if (options == NULL ||
	    config_setting_get_member(options, "directory") == NULL ||
	    (directory != NULL && *directory == '\0')) {
		ss_option_error(srv, options, "directory", "%s (expected the "
		    "path of a writable directory)", directory == NULL ?
		    "missing" : "empty");
		rc = -1;
	}
	if (mode_text != NULL && upload_parse_mode(mode_text, &us->mode) < 0) {
		ss_option_error(srv, options, "file_mode", "\"%s\" is not a "
		    "mode (expected an octal mode no greater than \"0777\", "
		    "as a string such as \"0640\")", mode_text);
		rc = -1;
	}
	us->max_size = (int64_t)max_size;
	*directory_r = directory;
	return rc;
}

/*
 * The user requests run as, for a message: daemon.user, or the user init
 * runs as when the daemon keeps it.
 */
static const char *
upload_user(ss_server *srv, char *buf, size_t size)
{
	struct passwd pw, *pwp = NULL;
	char pwbuf[1024];

	if (ss_server_user(srv) != NULL)
		snprintf(buf, size, "%s (daemon.user)", ss_server_user(srv));
	else if (getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) == 0 &&
	    pwp != NULL)
		snprintf(buf, size, "%s", pw.pw_name);
	else
		snprintf(buf, size, "uid %ld", (long)geteuid());
	return buf;
}

/*
 * Opens the directory and proves that a file can be created in it, the
 * way uploads will create theirs, without leaving anything behind. The
 * probe runs as init does, as root before the privilege drop, so the
 * user requests will run as is asked first.
 */
static int
upload_open_directory(ss_server *srv, const config_setting_t *options,
    struct upload_server *us, const char *directory)
{
	struct upload_file probe;
	char user[300];

	/* linkat() gives an unnamed file a name through its /proc link. */
	us->tmpfile = access("/proc/self/fd", X_OK) == 0;
	us->dirfd = open(directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (us->dirfd < 0) {
		ss_option_error(srv, options, "directory", "cannot open "
		    "'%s': %s (expected a directory)", directory,
		    strerror(errno));
		return -1;
	}
	if (ss_access(srv, directory, W_OK | X_OK) < 0) {
		ss_option_error(srv, options, "directory", "user %s cannot "
		    "create files in '%s': %s (it needs write and search "
		    "permission)", upload_user(srv, user, sizeof(user)),
		    directory, strerror(errno));
		return -1;
	}
	if (upload_create(us, &probe) < 0) {
		ss_option_error(srv, options, "directory", "cannot create "
		    "files in '%s': %s (expected a writable directory)",
		    directory, strerror(errno));
		return -1;
	}
	if (probe.temp[0] != '\0')
		ss_log(srv, LOG_INFO, "no O_TMPFILE in '%s': files are "
		    "received as hidden " UPLOAD_TEMP_PREFIX "* files and "
		    "renamed when complete", directory);
	upload_discard(us, &probe);
	return 0;
}

static void
upload_free(struct upload_server *us)
{
	if (us->dirfd >= 0)
		close(us->dirfd);
	free(us->directory);
	free(us);
}

static int
upload_init(ss_server *srv, const config_setting_t *options)
{
	const char *transport = ss_server_transport(srv), *directory;
	struct upload_server *us;

	if (strcmp(transport, "tcp") != 0 && strcmp(transport, "unix") != 0) {
		/* Reported at the handler's line: it does not fit there. */
		ss_option_error(srv, NULL, NULL, "transport \"%s\" is not "
		    "supported (expected a stream: \"tcp\" or \"unix\")",
		    transport);
		return -1;
	}
	if ((us = calloc(1, sizeof(*us))) == NULL) {
		ss_log(srv, LOG_ERR, "out of memory");
		return -1;
	}
	us->dirfd = -1;
	us->max_size = UPLOAD_MAX_SIZE_DEFAULT;
	us->mode = UPLOAD_MODE_DEFAULT;
	if (upload_read_options(srv, options, us, &directory) < 0 ||
	    upload_open_directory(srv, options, us, directory) < 0) {
		upload_free(us);
		return -1;
	}
	if ((us->directory = strdup(directory)) == NULL) {
		ss_log(srv, LOG_ERR, "out of memory");
		upload_free(us);
		return -1;
	}
	ss_set_server_data(srv, us);
	return 0;
}

static void
upload_fini(ss_server *srv)
{
	upload_free(ss_server_data(srv));
}

/* --- the protocol --------------------------------------------------------- */

/*
 * A client-chosen name for a log line, in the request's buffer, every
 * byte that is not printable ASCII escaped as \xHH, so a name cannot
 * forge log lines. Valid until the next call for the request.
 */
static const char *
upload_printable(ss_request *req, const char *name, size_t len)
{
	struct upload_conn *conn = ss_request_data(req);
	char *out = conn->printable;
	size_t i, o = 0, cap = sizeof(conn->printable);
	unsigned char c;

	for (i = 0; i < len && o + 5 < cap; i++) {
		c = (unsigned char)name[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, cap - o, "\\x%02x", c);
	}
	out[o] = '\0';
	return out;
}

/* Replies "error REASON", logs why, and ends the connection. */
static int
upload_refuse(ss_request *req, const char *reason, const char *name,
    size_t name_len, const char *detail)
{
	ss_log(ss_server_of(req), LOG_WARNING, "%s: refused%s%s: "
	    "%s%s%s", ss_client_name(req), name != NULL ? " " : "",
	    name != NULL ? upload_printable(req, name, name_len) : "", reason,
	    detail != NULL ? ": " : "", detail != NULL ? detail : "");
	ss_printf(req, "error %s\n", reason);
	return -1;
}

/* SIZE: digits only, at most max_size; *size_r is -1 when over it. */
static bool
upload_parse_size(const char *s, size_t len, int64_t max, int64_t *size_r)
{
	int64_t v = 0;
	size_t i;
	int d;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		d = s[i] - '0';
		/* Once over max, v stays -1 while the digits are checked. */
		if (v < 0)
			continue;
		if (v > (INT64_MAX - d) / 10 || v * 10 + d > max)
			v = -1;
		else
			v = v * 10 + d;
	}
	*size_r = v;
	return true;
}

/* Why a name cannot be a file name of the directory, or NULL. */
static const char *
upload_bad_name(const char *name, size_t len)
{
	size_t i;

	if (len == 0)
		return "empty name";
	if (len > UPLOAD_NAME_MAX)
		return "name longer than 255 bytes";
	if (name[0] == '.')
		return "name starts with a dot";
	if (memchr(name, '/', len) != NULL)
		return "name contains a slash";
	if (memchr(name, '\0', len) != NULL)
		return "name contains a NUL byte";
	/* A tab, an escape sequence or a DEL in a name misleads ls and logs. */
	for (i = 0; i < len; i++)
		if ((unsigned char)name[i] < 0x20 || name[i] == 0x7f)
			return "name contains a control character";
	return NULL;
}

/*
 * Splits "post|NAME|SIZE" (its "\n", and one "\r" before it, removed).
 * NAME runs from the first '|' to the last, so it may hold '|'; SIZE,
 * digits only, cannot.
 */
static int
upload_parse_header(ss_request *req, const struct upload_server *us,
    char *line, size_t len, struct upload_header *h)
{
	char *first, *last, *name;
	size_t name_len;
	const char *why;

	if (len == 0 || line[len - 1] != '\n')
		return upload_refuse(req, "incomplete header", NULL, 0,
		    "end of input before the end of the line");
	line[--len] = '\0';
	if (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	first = memchr(line, '|', len);
	if (first == NULL)
		return upload_refuse(req, "malformed header", NULL, 0,
		    "expected post|NAME|SIZE");
	if (first - line != 4 || memcmp(line, "post", 4) != 0)
		return upload_refuse(req, "unknown command", NULL, 0,
		    "expected post|NAME|SIZE");
	last = memrchr(line, '|', len);
	if (last == first)
		return upload_refuse(req, "malformed header", NULL, 0,
		    "expected post|NAME|SIZE");
	name = first + 1;
	name_len = (size_t)(last - name);
	if ((why = upload_bad_name(name, name_len)) != NULL)
		return upload_refuse(req, why, name, name_len, NULL);
	*last = '\0';
	if (!upload_parse_size(last + 1, len - (size_t)(last + 1 - line),
	    us->max_size, &h->size))
		return upload_refuse(req, "size is not a decimal number",
		    name, name_len, NULL);
	if (h->size < 0)
		return upload_refuse(req, "size exceeds max_size", name,
		    name_len, NULL);
	h->name = name;
	return 0;
}

/* Refuses a name already taken, unless overwrite allows replacing it. */
static int
upload_check_target(ss_request *req, const struct upload_server *us,
    const struct upload_header *h)
{
	struct stat st;

	if (fstatat(us->dirfd, h->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return upload_refuse(req, "cannot store file", h->name,
		    strlen(h->name), strerror(errno));
	}
	if (!us->overwrite)
		return upload_refuse(req, "file exists", h->name,
		    strlen(h->name), NULL);
	if (S_ISDIR(st.st_mode))
		return upload_refuse(req, "name is a directory", h->name,
		    strlen(h->name), NULL);
	return 0;
}

/* The reply for a failed file operation; details go to the log. */
static const char *
upload_store_reason(int err)
{
	if (err == ENOSPC || err == EDQUOT)
		return "no space left";
	if (err == EEXIST)
		return "file exists";
	return "cannot store file";
}

/*
 * Receives h->size bytes into f, hashing them. On failure f is discarded
 * before the log line and the reply say so.
 */
static int
upload_receive(ss_request *req, const struct upload_server *us,
    const struct upload_header *h, struct upload_file *f,
    struct sha256_ctx *sha)
{
	char *buf = ((struct upload_conn *)ss_request_data(req))->chunk;
	int64_t got = 0;
	size_t want;
	ssize_t n;
	int err;

	while (got < h->size) {
		want = h->size - got < UPLOAD_CHUNK ? (size_t)(h->size - got) :
		    UPLOAD_CHUNK;
		n = ss_read(req, buf, want);
		if (n <= 0) {
			err = n < 0 ? errno : 0;
			upload_discard(us, f);
			ss_log(ss_server_of(req), LOG_WARNING, "%s: "
			    "upload of %s interrupted after %" PRId64 " of %"
			    PRId64 " bytes: %s; nothing stored",
			    ss_client_name(req), upload_printable(req, h->name,
			    strlen(h->name)), got, h->size,
			    n < 0 ? strerror(err) : "end of input");
			/* The client may still read, after a half-close. */
			ss_printf(req, "error %s\n", err == ETIMEDOUT ?
			    "timed out" : "incomplete upload");
			return -1;
		}
		sha256_update(sha, (size_t)n, (const uint8_t *)buf);
		if (upload_write_all(f->fd, buf, (size_t)n) < 0) {
			err = errno;
			upload_discard(us, f);
			return upload_refuse(req, upload_store_reason(err),
			    h->name, strlen(h->name), strerror(err));
		}
		got += n;
	}
	return 0;
}

/*
 * Makes the received file durable under its name. On failure f is
 * discarded (a file already linked stays) before the reply.
 */
static int
upload_commit(ss_request *req, const struct upload_server *us,
    const struct upload_header *h, struct upload_file *f)
{
	const char *step;
	char detail[128];
	int err;

	if (fsync(f->fd) < 0)
		step = "fsync";
	else if (upload_link(us, f, h->name) < 0)
		step = "link";
	else if (fsync(us->dirfd) < 0)
		step = "fsync of the directory";
	else
		return 0;
	err = errno;
	upload_discard(us, f);
	snprintf(detail, sizeof(detail), "%s: %s", step, strerror(err));
	return upload_refuse(req, upload_store_reason(err), h->name,
	    strlen(h->name), detail);
}

/*
 * One upload, from its header to its reply: 1 when stored, 0 at the end
 * of input before a header, -1 after an error reply.
 */
static int
upload_one(ss_request *req, const struct upload_server *us)
{
	char *line = ((struct upload_conn *)ss_request_data(req))->header;
	char hex[SHA256_DIGEST_SIZE * 2 + 1];
	uint8_t digest[SHA256_DIGEST_SIZE];
	struct upload_header h = { NULL, 0 };
	struct upload_file f;
	struct sha256_ctx sha;
	ssize_t n;
	int i;

	n = ss_readline(req, line, UPLOAD_HEADER_MAX);
	if (n == 0)
		return 0;
	if (n < 0 && errno == EMSGSIZE)
		return upload_refuse(req, "header too long", NULL, 0, NULL);
	if (n < 0) {
		/* A client gone between uploads: nothing was refused. */
		ss_log(ss_server_of(req), LOG_WARNING, "%s: reading a "
		    "header: %s", ss_client_name(req), strerror(errno));
		if (errno == ETIMEDOUT)
			ss_printf(req, "error timed out\n");
		return -1;
	}
	if (upload_parse_header(req, us, line, (size_t)n, &h) < 0 ||
	    upload_check_target(req, us, &h) < 0)
		return -1;
	if (upload_create(us, &f) < 0)
		return upload_refuse(req, upload_store_reason(errno), h.name,
		    strlen(h.name), strerror(errno));
	sha256_init(&sha);
	if (upload_receive(req, us, &h, &f, &sha) < 0 ||
	    upload_commit(req, us, &h, &f) < 0)
		return -1;
	close(f.fd);
	sha256_digest(&sha, sizeof(digest), digest);
	for (i = 0; i < SHA256_DIGEST_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	ss_log(ss_server_of(req), LOG_INFO, "%s: stored %s/%s, %"
	    PRId64 " bytes", ss_client_name(req), us->directory,
	    upload_printable(req, h.name, strlen(h.name)), h.size);
	return ss_printf(req, "ok %" PRId64 " %s\n", h.size, hex) < 0 ? -1 : 1;
}

static int
upload_setup(ss_request *req)
{
	struct upload_conn *conn;

	if ((conn = malloc(sizeof(*conn))) == NULL) {
		ss_log(ss_server_of(req), LOG_ERR, "out of memory");
		ss_printf(req, "error out of memory\n");
		return -1;
	}
	ss_set_request_data(req, conn);
	return 0;
}

static int
upload_handle(ss_request *req)
{
	const struct upload_server *us = ss_server_data(ss_server_of(req));
	int rc;

	while ((rc = upload_one(req, us)) > 0)
		continue;
	return rc;
}

static void
upload_finish(ss_request *req)
{
	free(ss_request_data(req));
}

/*
 * Every failure was logged where it was found, with the file's name, and
 * the client has its error line; the default would log it a second time.
 */
static void
upload_handle_error(ss_request *req, int err)
{
	(void)req;
	(void)err;
}

SS_HANDLER(
	.name = "upload",
	.version = "1.0",
	.init = upload_init,
	.fini = upload_fini,
	.setup = upload_setup,
	.handle = upload_handle,
	.finish = upload_finish,
	.handle_error = upload_handle_error,
);
