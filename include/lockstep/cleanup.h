/* Scope-based cleanup helpers (after systemd's alloc-util.h).
 *
 *   _cleanup_free_ char *s = strdup("x");
 *   return TAKE_PTR(s);   // hands ownership to the caller, cleanup sees NULL
 *
 * Destructors used with DEFINE_CLEANUP_FUNC accept NULL.
 */
#pragma once
#include <stdlib.h>
#include <stdio.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void fclosep(FILE **f)
{
	if (*f) {
		fclose(*f);
	}
}
#define _cleanup_fclose_ _cleanup_(fclosep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		close(*fd);
	}
}
#define _cleanup_close_ _cleanup_(closep)

/* Declare `static inline void name##p(type **p)` that calls func(*p) when non-NULL. */
#define DEFINE_CLEANUP_FUNC(type, func)                                                            \
	static inline void func##p(type **p)                                                       \
	{                                                                                          \
		if (*p) {                                                                          \
			func(*p);                                                                  \
		}                                                                                  \
	}

#define TAKE_PTR(ptr)                                                                              \
	({                                                                                         \
		__typeof__(ptr) _tp_ = (ptr);                                                      \
		(ptr) = NULL;                                                                      \
		_tp_;                                                                              \
	})

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
