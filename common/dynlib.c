/* dlopen/dlsym for the libraries loaded on first use (see dynlib.h). */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "common/dynlib.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

/* POSIX guarantees this for dlsym; the slots rely on it. */
_Static_assert(sizeof(void (*)(void)) == sizeof(void *), "function and data pointers differ");

static void clear_slots(struct dynlib *lib)
{
	void *null = NULL;
	for (size_t i = 0; i < lib->nsyms; i++) {
		memcpy(lib->syms[i].slot, &null, sizeof(null));
	}
}

static int resolve(struct dynlib *lib)
{
	for (size_t i = 0; i < lib->nsyms; i++) {
		dlerror();
		void *addr = dlsym(lib->handle, lib->syms[i].name);
		if (!addr) {
			const char *why = dlerror();
			if (why) {
				snprintf(lib->err, sizeof(lib->err), "%s", why);
			} else {
				snprintf(lib->err, sizeof(lib->err), "symbol '%s' is NULL",
				         lib->syms[i].name);
			}
			clear_slots(lib);
			return -ELIBACC;
		}
		memcpy(lib->syms[i].slot, &addr, sizeof(addr));
	}
	return 0;
}

/* RTLD_NOW: a library that cannot be fully bound fails here, with a message, rather than
 * aborting the process in the middle of a transfer. */
static int load(struct dynlib *lib)
{
	dlerror();
	lib->handle = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL);
	if (!lib->handle) {
		const char *why = dlerror();
		snprintf(lib->err, sizeof(lib->err), "%s", why ? why : "dlopen failed");
		return -ELIBACC;
	}
	int rc = resolve(lib);
	if (rc < 0) {
		dlclose(lib->handle);
		lib->handle = NULL;
	}
	return rc;
}

int dynlib_open(struct dynlib *lib)
{
	/* Fast path for hot callers (one digest per blob, per file): no lock once loaded. */
	if (__atomic_load_n(&lib->tried, __ATOMIC_ACQUIRE)) {
		return lib->rc;
	}
	pthread_mutex_lock(&lib->lock);
	if (!lib->tried) {
		lib->rc = load(lib);
		__atomic_store_n(&lib->tried, true, __ATOMIC_RELEASE);
	}
	int rc = lib->rc;
	pthread_mutex_unlock(&lib->lock);
	return rc;
}

int dynlib_load(struct lks_ctx *ctx, struct dynlib *lib, const char *what)
{
	int rc = dynlib_open(lib);
	if (rc < 0) {
		return lks_err(ctx, rc, "cannot load '%s', needed for %s: %s", lib->soname, what,
		               lib->err);
	}
	return 0;
}
