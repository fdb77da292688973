/*
 * run_suite.h - how every check program ends, unit test or integration
 * test: run the suite (CK_VERBOSITY picks the output), and exit 0 only
 * when every test passed.
 */
#ifndef SS_TEST_RUN_SUITE_H
#define SS_TEST_RUN_SUITE_H

#include <stdlib.h>
#include <check.h>

static inline int
run_suite(Suite *suite)
{
	SRunner *runner = srunner_create(suite);
	int failed;

	srunner_run_all(runner, CK_ENV);
	failed = srunner_ntests_failed(runner);
	srunner_free(runner);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

#endif /* SS_TEST_RUN_SUITE_H */
