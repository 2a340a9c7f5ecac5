/* dynlib: libraries loaded on first use. Uses libc itself as the library that is surely there. */
#include <criterion/criterion.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include "common/dynlib.h"
#include "lockstep/ctx.h"

static size_t (*my_strlen)(const char *);
static int (*my_abs)(int);

static const struct dynlib_sym good_syms[] = {
    {"strlen", &my_strlen},
    {"abs", &my_abs},
};

Test(dynlib, loads_and_resolves_once)
{
	static struct dynlib lib = DYNLIB_INIT("libc.so.6", good_syms);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(dynlib_load(&ctx, &lib, "testing"), 0);
	cr_assert_not_null(my_strlen);
	cr_assert_eq(my_strlen("lockstep"), 8);
	cr_assert_eq(my_abs(-3), 3);
	cr_assert_eq(dynlib_load(&ctx, &lib, "testing"), 0);
	cr_assert_str_empty(ctx.err);
	lks_ctx_free(&ctx);
}

static int (*never)(void);
static const struct dynlib_sym never_syms[] = {{"lks_test_never", &never}};

Test(dynlib, missing_library_is_a_clear_error_every_time)
{
	static struct dynlib lib = DYNLIB_INIT("liblks-test-missing.so.0", never_syms);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	for (int i = 0; i < 2; i++) {
		ctx.err[0] = '\0';
		cr_assert_eq(dynlib_load(&ctx, &lib, "testing"), -ELIBACC);
		cr_assert(
		    strstr(ctx.err, "cannot load 'liblks-test-missing.so.0', needed for testing:"),
		    "%s", ctx.err);
	}
	cr_assert_null(never);
	lks_ctx_free(&ctx);
}

static size_t (*half_strlen)(const char *);
static int (*half_missing)(void);
static const struct dynlib_sym half_syms[] = {
    {"strlen", &half_strlen},
    {"lks_test_no_such_symbol", &half_missing},
};

Test(dynlib, missing_symbol_names_it_and_fills_no_slot)
{
	static struct dynlib lib = DYNLIB_INIT("libc.so.6", half_syms);
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	cr_assert_eq(dynlib_load(&ctx, &lib, "testing"), -ELIBACC);
	cr_assert(strstr(ctx.err, "undefined symbol: lks_test_no_such_symbol"), "%s", ctx.err);
	cr_assert_null(half_strlen);
	cr_assert_null(half_missing);
	lks_ctx_free(&ctx);
}

static size_t (*race_strlen)(const char *);
static const struct dynlib_sym race_syms[] = {{"strlen", &race_strlen}};
static struct dynlib race_lib = DYNLIB_INIT("libc.so.6", race_syms);

static void *race(void *arg)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	int rc = dynlib_load(&ctx, &race_lib, "testing");
	/* Whichever thread loaded it, the slot is filled before any caller returns. */
	intptr_t ok = rc == 0 && race_strlen && race_strlen("ab") == 2;
	lks_ctx_free(&ctx);
	return (void *)ok;
}

Test(dynlib, concurrent_first_use)
{
	pthread_t t[8];
	for (int i = 0; i < 8; i++) {
		cr_assert_eq(pthread_create(&t[i], NULL, race, NULL), 0);
	}
	for (int i = 0; i < 8; i++) {
		void *ok;
		pthread_join(t[i], &ok);
		cr_assert(ok, "thread %d", i);
	}
}
