/* PEP 503 names, PEP 508 dependency specifiers and environment markers.
 *
 * A requirement is "name [extras] (specifiers | @ url) ; marker". Markers are parsed into a
 * tree and evaluated against a target environment (the interpreter inside the image, not the
 * host). Comparison semantics follow packaging: when "op value" is a valid PEP 440 specifier
 * the comparison is a version comparison, otherwise a string comparison; "~=" and "===" on
 * non-versions are errors. Extras are compared after PEP 685 normalisation.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/ctx.h"
#include "pinner/python/pep440.h"

#define LKS_PEP508_MAX_NAME 128 /* project and extra names, bytes incl. NUL */
#define LKS_PEP508_MAX_EXTRAS 32
#define LKS_PEP508_MAX_INPUT 8192 /* longest requirement string accepted */
#define LKS_MARKER_MAX_DEPTH 32   /* parenthesis nesting */
#define LKS_MARKER_MAX_NODES 256
#define LKS_MARKER_MAX_STR 256 /* a quoted marker literal */

/* PEP 503: lower case, every run of '-', '_' and '.' becomes one '-'. Returns the length
 * written, or -LKS_E_TOOBIG when out_len is too small. */
int lks_pep503_normalize(const char *name, size_t n, char *out, size_t out_len);
/* A valid project name: ASCII letters/digits, inner '-', '_', '.'. */
bool lks_pep508_valid_name(const char *name, size_t n);

/* The target environment. Every field is a NUL-terminated string; "" is a valid value. */
struct lks_pep508_env {
	char python_version[16];      /* "3.12" */
	char python_full_version[32]; /* "3.12.0" */
	char os_name[16];             /* "posix" */
	char sys_platform[32];        /* "linux" */
	char platform_release[64];
	char platform_system[32]; /* "Linux" */
	char platform_version[128];
	char platform_machine[32];               /* "x86_64", "aarch64" */
	char platform_python_implementation[32]; /* "CPython" */
	char implementation_name[32];            /* "cpython" */
	char implementation_version[32];         /* "3.12.0" */
	char extra[LKS_PEP508_MAX_NAME];         /* "" outside extras */
};

/* A Linux CPython environment for python_version "X.Y" or "X.Y.Z" and a machine
 * ("x86_64" when NULL). Returns -LKS_E_INVAL for a malformed version. */
int lks_pep508_env_linux(struct lks_ctx *ctx, struct lks_pep508_env *env,
                         const char *python_version, const char *machine);

struct lks_marker; /* opaque tree */

int lks_marker_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_marker **out);
void lks_marker_free(struct lks_marker *m);
/* Evaluate: *result is the truth value. Fails with -LKS_E_INVAL on an undefined comparison. */
int lks_marker_eval(struct lks_ctx *ctx, const struct lks_marker *m,
                    const struct lks_pep508_env *env, bool *result);
/* True when the marker refers to the `extra` variable anywhere. */
bool lks_marker_uses_extra(const struct lks_marker *m);

struct lks_pep508_req {
	char name[LKS_PEP508_MAX_NAME];                          /* as written */
	char key[LKS_PEP508_MAX_NAME];                           /* PEP 503 normalised */
	char extras[LKS_PEP508_MAX_EXTRAS][LKS_PEP508_MAX_NAME]; /* normalised, in order */
	size_t nextras;
	struct lks_pep440_specset spec;
	char *url;                 /* "name @ url" form, else NULL; owned */
	struct lks_marker *marker; /* NULL when none; owned */
};

void lks_pep508_req_init(struct lks_pep508_req *r);
void lks_pep508_req_free(struct lks_pep508_req *r);
/* Parse one requirement (n bytes at s). The detail names what is wrong and where. */
int lks_pep508_parse(struct lks_ctx *ctx, const char *s, size_t n, struct lks_pep508_req *r);
/* Whether r applies in env (no marker: true). env->extra is used as given. */
int lks_pep508_applies(struct lks_ctx *ctx, const struct lks_pep508_req *r,
                       const struct lks_pep508_env *env, bool *result);
