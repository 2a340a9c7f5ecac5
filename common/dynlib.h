/* Shared libraries loaded on first use instead of at process start.
 *
 * libcurl and libarchive pull in ~40 shared libraries (TLS, GSSAPI, LDAP, compressors ...) whose
 * loading and relocation cost more than everything `lockstep check` does. Linking them normally
 * makes every command, even `--version`, pay for that. Instead the one file that calls each of
 * them (common/http.c, common/archive.c) keeps a table of function pointers that dynlib_load()
 * fills with dlopen/dlsym the first time a transfer or an archive is opened.
 */
#pragma once
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

/* One symbol to resolve: its name and where its address goes (a function pointer member). */
struct dynlib_sym {
	const char *name;
	void *slot; /* points at a function pointer; filled as if by `*(void **)slot = addr` */
};

/* A library and its symbols: `static struct dynlib lib = DYNLIB_INIT("libx.so.1", syms);`.
 * Past the first three members it is the loader's state. */
struct dynlib {
	const char *soname; /* e.g. "libcurl.so.4" */
	const struct dynlib_sym *syms;
	size_t nsyms;
	pthread_mutex_t lock; /* PTHREAD_MUTEX_INITIALIZER */
	bool tried;
	int rc;        /* outcome of the one attempt */
	char err[512]; /* its detail when rc < 0 */
	void *handle;  /* never closed: the pointers stay valid for the life of the process */
};

#define DYNLIB_INIT(so, table)                                                                     \
	{                                                                                          \
		.soname = (so), .syms = (table), .nsyms = sizeof(table) / sizeof((table)[0]),      \
		.lock = PTHREAD_MUTEX_INITIALIZER                                                  \
	}

/* Load lib and resolve all its symbols, once per process (thread-safe); later calls return the
 * outcome of the first. Returns 0, or -ELIBACC with a detail in ctx naming the library and
 * what was missing (`what` says what it is needed for, e.g. "network access"). When any symbol
 * is missing, no slot is left half filled: all are NULL. */
int dynlib_load(struct lks_ctx *ctx, struct dynlib *lib, const char *what);
/* The same without a detail, for optional libraries the caller can do without: 0 or -ELIBACC
 * (lib->err says why). */
int dynlib_open(struct dynlib *lib);
