/* `lockstep verify`: build a Dockerfile twice (or N times) from scratch with a real builder,
 * optionally varying the build environment between the builds, and compare the images with
 * the diff engine (imgdiff.h) so each difference names its Dockerfile line.
 *
 * Build 1 is the control: the inherited environment, umask 022. Every later build applies
 * the chosen variations. SOURCE_DATE_EPOCH is the same for all builds. Scratch space (builder
 * storage, context copies) lives in a temporary directory that is always removed; images and
 * build logs go there too unless `keep` names a directory for them.
 */
#pragma once
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include "verifier/build.h"
#include "lockstep/imgdiff.h"
#include "lockstep/report.h"

struct lks_ctx;
struct lks_buf;

enum lks_vary {
	LKS_VARY_PATH = 1u << 0,     /* the context is copied to a second, longer path */
	LKS_VARY_TZ = 1u << 1,       /* TZ */
	LKS_VARY_LANG = 1u << 2,     /* LANG, LC_ALL, LANGUAGE */
	LKS_VARY_UMASK = 1u << 3,    /* 022 vs 002 for the builder process */
	LKS_VARY_HOSTNAME = 1u << 4, /* the builder runs in its own UTS namespace */
	LKS_VARY_N = 5,
};
#define LKS_VARY_ALL ((1u << LKS_VARY_N) - 1)

/* "all", "none" or a comma-separated list of path, tz, lang, umask, hostname. */
int lks_vary_parse(struct lks_ctx *ctx, const char *s, unsigned *out);
/* Name of one variation bit, NULL for an unknown bit. */
const char *lks_vary_name(unsigned bit);

enum lks_verify_event_kind {
	LKS_VERIFY_BUILD_START,
	LKS_VERIFY_BUILD_DONE,
	LKS_VERIFY_COMPARE,
};

struct lks_verify_event {
	enum lks_verify_event_kind kind;
	size_t build; /* 1-based */
	size_t n_builds;
	bool bisect; /* a bisection rebuild; vary names the one variation */
	unsigned vary;
	double seconds; /* BUILD_DONE */
};

struct lks_verify_opts {
	struct lks_build_req req; /* context, dockerfile, build args, target, platform, isolation,
	                           * template; out, work and tag are set per build */
	const struct lks_builder *builder;
	const char *storage; /* buildah/podman storage driver; NULL: overlay when it works here,
	                      * else vfs (lks_build_storage_probe) */
	bool epoch_set;   /* req.epoch given; else the context's last git commit time, or 0 */
	unsigned vary;    /* LKS_VARY_* applied to builds 2..repeat */
	bool bisect;      /* when the images differ, rebuild with one variation at a time */
	int repeat;       /* builds, >= 2 */
	const char *keep; /* directory for images and logs, NULL: temporary */
	long timeout_ms;  /* per build command, 0: none */
	struct lks_diff_opts diff;
	void (*progress)(void *opaque, const struct lks_verify_event *ev);
	void (*output)(void *opaque, const char *data, size_t len); /* builder output, live */
	void *opaque;
	const volatile sig_atomic_t *cancel; /* non-NULL: set (from a signal handler) to stop the
	                                      * running build and clean up: -ECANCELED */
};

/* The end of each build's output kept in the result for the reports. */
#define LKS_VERIFY_OUTPUT_MAX (64 * 1024)

struct lks_verify_build {
	unsigned vary;
	double seconds;
	char *image;  /* "oci:DIR", for lockstep diff */
	char *log;    /* build log, NULL unless kept */
	char *output; /* the last LKS_VERIFY_OUTPUT_MAX bytes of the build log (commands and the
	               * builder's output), NUL-terminated; NULL when unreadable */
};

struct lks_verify_pair {
	size_t a, b; /* indexes into builds */
	struct lks_diff_result diff;
};

struct lks_verify_result {
	const char *builder;
	const char *storage;      /* buildah/podman storage driver, NULL for other builders */
	long long epoch;
	const char *epoch_source; /* "option", "git", "default" */
	unsigned vary;            /* variations of builds 2.. */
	const char *dockerfile;   /* as given (for reports) */
	struct lks_verify_build *builds;
	size_t n_builds;
	struct lks_verify_pair *pairs; /* build 1 against each later build */
	size_t n_pairs;
	bool reproducible;
	bool bisected;
	bool differs_unvaried; /* bisect: a rebuild without variations differs too */
	unsigned causes;       /* bisect: variations that alone make the image differ */
	unsigned tried;        /* bisect: variations tried */
	double build_seconds;  /* sum over builds (bisection included) */
	double total_seconds;
};

/* Run the builds and compare them. A failed build or tool is a negative error (detail in
 * ctx, with the end of the builder's output): never "not reproducible". result is
 * initialised here; free it with lks_verify_result_free even on failure. */
int lks_verify_run(struct lks_ctx *ctx, const struct lks_verify_opts *o,
                   struct lks_verify_result *result);
void lks_verify_result_free(struct lks_verify_result *r);

/* Render a verify result: text (colour when asked), json (schema "lockstep-verify/1",
 * embedding the "lockstep-diff/1" report of each pair), markdown, html (one page: the verdict,
 * each differing pair, the end of each build's output). */
#define LKS_VERIFY_SCHEMA "lockstep-verify/1"
int lks_verify_render(struct lks_ctx *ctx, const struct lks_verify_result *r,
                      enum lks_report_format f, bool colour, struct lks_buf *out);
/* A JUnit XML document with one test case per compared pair; error (non-NULL when the
 * verification failed) becomes one errored test case. */
int lks_verify_junit(struct lks_ctx *ctx, const struct lks_verify_result *r, const char *error,
                     struct lks_buf *out);
