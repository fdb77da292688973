/*
 * check_plugin.c - the plugin loader (daemon/plugin.c): each refusal
 * names the file and says why (no file, not an ELF object, no ss_handler,
 * another ABI, no handle, a file or directory others could change), and
 * a good plugin loads, by path or by name, fresh or not, and is seen to
 * change when its file is replaced.
 *
 * The plugins are the fixtures of tests/fixtures/ and the shipped echo,
 * copied into a private directory with exact modes, so that neither the
 * checkout's modes nor the umask matter. The test program exports the
 * daemon's ss_* functions as sockservd does, for the plugins to resolve.
 * Changing owners needs root, as the suite's CI has. The harness of the
 * integration tests provides the private directory and the copies.
 */
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin.h"
#include "../integration/harness.h"

#define FOREIGN_UID	4242

static char error[PLUGIN_ERROR_SIZE];
static struct plugin *plugin;

/* The fixture plugin NAME, copied with 0644 to NAME.so. */
static const char *
fixture(const char *name)
{
	return h_copy_file(h_fixture(name), h_path("%s.so", name), 0644);
}

/* The shipped echo.so, copied with 0644 to `path` (in the directory). */
static const char *
echo_as(const char *path)
{
	return h_copy_file(h_plugin("echo"), path, 0644);
}

static void
close_plugin(void)
{
	plugin_close(plugin);
	plugin = NULL;
}

/*
 * plugin_open(handler) with `trusted` must fail, saying "cannot load
 * plugin PATH: " and then every one of the NULL-terminated reasons.
 */
static void
expect_refused(const char *handler, const char *file, uid_t trusted, ...)
{
	const char *head = h_path("cannot load plugin %s: ", file), *reason;
	va_list ap;

	plugin = plugin_open(handler, h_tmpdir(), false, trusted, error,
	    sizeof(error));
	ck_assert_msg(plugin == NULL, "%s loaded", handler);
	ck_assert_msg(strncmp(error, head, strlen(head)) == 0, "the error "
	    "does not begin with \"%s\": \"%s\"", head, error);
	va_start(ap, trusted);
	while ((reason = va_arg(ap, const char *)) != NULL)
		ck_assert_msg(strstr(error, reason) != NULL, "the error does "
		    "not say \"%s\": \"%s\"", reason, error);
	va_end(ap);
}

/* plugin_open(handler) must load echo.so from `file`. */
static void
expect_loaded(const char *handler, const char *file, bool fresh,
    uid_t trusted)
{
	plugin = plugin_open(handler, h_tmpdir(), fresh, trusted, error,
	    sizeof(error));
	ck_assert_msg(plugin != NULL, "%s refused: %s", handler, error);
	ck_assert_str_eq(plugin->path, file);
	ck_assert_str_eq(plugin->handler.name, "echo");
	ck_assert_ptr_nonnull(plugin->handler.handle);
	ck_assert(!plugin_changed(plugin));
}

/* --- refusals ------------------------------------------------------------ */

START_TEST(test_missing_file)
{
	const char *file = h_path("%s/missing.so", h_tmpdir());

	expect_refused(file, file, (uid_t)-1, strerror(ENOENT), NULL);
}
END_TEST

START_TEST(test_not_an_elf_object)
{
	const char *file = h_copy_file(h_path("%s/tests/fixtures/"
	    "not_a_plugin.so", h_env("SS_SRCDIR")), "not_a_plugin.so", 0644);

	expect_refused(file, file, (uid_t)-1, "invalid ELF header", NULL);
}
END_TEST

START_TEST(test_no_ss_handler)
{
	const char *file = fixture("no_symbol");

	expect_refused(file, file, (uid_t)-1, "no 'ss_handler' symbol", NULL);
}
END_TEST

/* Another ABI is refused, naming both. */
START_TEST(test_other_abi)
{
	const char *file = fixture("bad_abi");

	expect_refused(file, file, (uid_t)-1,
	    h_path("built for plugin ABI %d,", SS_PLUGIN_ABI + 1),
	    h_path("this sockservd speaks ABI %d", SS_PLUGIN_ABI), NULL);
}
END_TEST

START_TEST(test_no_handle)
{
	const char *file = fixture("no_handle");

	expect_refused(file, file, (uid_t)-1, "no handle function", NULL);
}
END_TEST

/* A file group or others may write is refused, saying how to fix it. */
START_TEST(test_writable_file)
{
	const char *file = echo_as("echo.so");

	ck_assert(chmod(file, _i == 0 ? 0664 : 0646) == 0);
	expect_refused(file, file, (uid_t)-1, "unsafe: ",
	    "is writable by group or others", h_path("chmod go-w %s", file),
	    NULL);
}
END_TEST

/* So is a file in a directory group or others may write. */
START_TEST(test_writable_directory)
{
	const char *sub = h_mkdir("open", 0770);
	const char *file = echo_as("open/echo.so");

	expect_refused(file, file, (uid_t)-1, h_path("its directory %s is "
	    "writable by group or others", sub), NULL);
}
END_TEST

/*
 * A file or directory of a user other than root and the daemon's is
 * refused, unless it is `trusted`'s, the configured user's.
 */
START_TEST(test_foreign_owner)
{
	const char *sub = h_mkdir("theirs", 0755);
	const char *file = echo_as("theirs/echo.so");

	ck_assert_msg(geteuid() == 0, "this test changes owners, as root");
	if (_i == 0)
		ck_assert(chown(file, FOREIGN_UID, 0) == 0);
	else
		ck_assert(chown(sub, FOREIGN_UID, 0) == 0);
	expect_refused(file, file, (uid_t)-1, _i == 0 ?
	    h_path("%s is owned by uid %d", file, FOREIGN_UID) :
	    h_path("its directory %s is owned by uid %d", sub, FOREIGN_UID),
	    NULL);
	expect_loaded(file, file, false, FOREIGN_UID);
}
END_TEST

/* --- loading ------------------------------------------------------------- */

/* A handler with a '/' is a path; without one, plugin_dir/NAME.so. */
START_TEST(test_loads_by_path_and_by_name)
{
	const char *file = echo_as("echo.so");

	expect_loaded(_i == 0 ? file : "echo", file, false, (uid_t)-1);
	ck_assert_int_eq(plugin->memfd, -1);
}
END_TEST

/*
 * A fresh load reads a private copy; either way, replacing the file is
 * seen as a change, and the plugin loaded stays usable.
 */
START_TEST(test_sees_the_file_replaced)
{
	const char *file = echo_as("echo.so");
	const char *other;

	expect_loaded(file, file, _i == 1, (uid_t)-1);
	ck_assert(_i == 0 ? plugin->memfd == -1 : plugin->memfd >= 0);
	other = echo_as("other.so");
	ck_assert(rename(other, file) == 0);
	ck_assert(plugin_changed(plugin));
	ck_assert_ptr_nonnull(plugin->handler.handle);
}
END_TEST

/* References: the last close unloads, not an earlier one. */
START_TEST(test_references)
{
	const char *file = echo_as("echo.so");

	expect_loaded(file, file, false, (uid_t)-1);
	ck_assert_ptr_eq(plugin_ref(plugin), plugin);
	ck_assert_uint_eq(plugin->refs, 2);
	plugin_close(plugin);
	ck_assert_uint_eq(plugin->refs, 1);
	ck_assert_str_eq(plugin->handler.name, "echo");
}
END_TEST

int
main(void)
{
	Suite *suite = suite_create("plugin");
	TCase *tc = tcase_create("plugin");

	h_add_fixtures(tc);
	tcase_add_checked_fixture(tc, NULL, close_plugin);
	tcase_add_test(tc, test_missing_file);
	tcase_add_test(tc, test_not_an_elf_object);
	tcase_add_test(tc, test_no_ss_handler);
	tcase_add_test(tc, test_other_abi);
	tcase_add_test(tc, test_no_handle);
	tcase_add_loop_test(tc, test_writable_file, 0, 2);
	tcase_add_test(tc, test_writable_directory);
	tcase_add_loop_test(tc, test_foreign_owner, 0, 2);
	tcase_add_loop_test(tc, test_loads_by_path_and_by_name, 0, 2);
	tcase_add_loop_test(tc, test_sees_the_file_replaced, 0, 2);
	tcase_add_test(tc, test_references);
	suite_add_tcase(suite, tc);
	return h_run_suite(suite);
}
