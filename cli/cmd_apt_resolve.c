/* Hidden debugging command: resolve apt package requests against the Release/Packages files
 * that `apt-get update` left in a lists directory, the way apt-cache policy would. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "cli/cli.h"
#include "pinner/apt/apt_closure.h"
#include "pinner/apt/apt_image.h"
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_rewrite.h"
#include "pinner/apt/apt_resolve.h"
#include "pinner/apt/apt_sources.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cache.h"
#include "lockstep/error.h"
#include "lockstep/imagefs.h"
#include "lockstep/json.h"

#define MAX_ARCHS 16

struct ar_opts {
	const char *sources[64];
	size_t n_sources;
	const char *prefs[64];
	size_t n_prefs;
	const char *lists;
	const char *arch;
	const char *archs[MAX_ARCHS + 1];
	size_t n_archs;
	const char *target;
	const char *keyring;
	bool long_fmt;
	bool json;
	const char *snapshot;
	const char *run;
	const char *etc_apt;
	const char *image;
	const char *platform;
	const char *apt_sources[16];
	size_t n_apt_sources;
	const struct lks_apt_config *img; /* the image's apt configuration (--image) */
	bool arch_set;
	long bench;
	const char *closure; /* --closure STATUS: a dpkg status file */
	char **words;
	int n_words;
};

static const char ar_help[] =
    "usage: lockstep apt-resolve --lists DIR [options] PKG...\n"
    "Resolve apt requests (NAME[:ARCH][=VERSION|/RELEASE]) like apt-cache policy; prints\n"
    "'package version suite' per request.\n"
    "  --lists DIR          apt lists directory filled by apt-get update\n"
    "  --sources FILE       sources.list or .sources file (repeatable; default: every\n"
    "                       Release file in DIR)\n"
    "  --image REF          use the sources, preferences and architecture of image REF's\n"
    "                       own apt (read from the registry)\n"
    "  --platform P         platform of --image (os/arch[/variant])\n"
    "  --apt-source LINE    add or override a source of --image (repeatable)\n"
    "  --arch ARCH          native architecture (default amd64, or the image's)\n"
    "  --add-arch ARCH      also load ARCH's Packages files (repeatable)\n"
    "  --preferences FILE   apt preferences file (repeatable)\n"
    "  -t, --target-release R   like apt-get -t\n"
    "  --keyring K          verify each InRelease with gpgv against K (file or directory)\n"
    "  --long               also print architecture, Filename, sha256, size, Release date\n"
    "  --json               print the lock records as a JSON array instead\n"
    "  --bench N            print load and per-round resolution times (N rounds) to stderr\n"
    "  --closure STATUS     then print what apt-get install -s --no-install-recommends of\n"
    "                       the requests would also install on a system with the dpkg\n"
    "                       status file STATUS: '+ package version suite of=REQUEST'\n";

static void add_arch(struct ar_opts *o, const char *a)
{
	for (size_t i = 0; i < o->n_archs; i++) {
		if (!strcmp(o->archs[i], a)) {
			return;
		}
	}
	if (o->n_archs < MAX_ARCHS) {
		o->archs[o->n_archs++] = a;
		o->archs[o->n_archs] = NULL;
	}
}

/* An option taking a value; false when `a` is not one. */
static bool valued_option(struct ar_opts *o, const char *a, const char *v)
{
	if (!strcmp(a, "--lists")) {
		o->lists = v;
	} else if (!strcmp(a, "--sources") && o->n_sources < 64) {
		o->sources[o->n_sources++] = v;
	} else if (!strcmp(a, "--preferences") && o->n_prefs < 64) {
		o->prefs[o->n_prefs++] = v;
	} else if (!strcmp(a, "--arch")) {
		o->arch = v;
		o->arch_set = true;
	} else if (!strcmp(a, "--image")) {
		o->image = v;
	} else if (!strcmp(a, "--platform")) {
		o->platform = v;
	} else if (!strcmp(a, "--apt-source") && o->n_apt_sources < 16) {
		o->apt_sources[o->n_apt_sources++] = v;
	} else if (!strcmp(a, "--add-arch")) {
		add_arch(o, v);
	} else if (!strcmp(a, "-t") || !strcmp(a, "--target-release")) {
		o->target = v;
	} else if (!strcmp(a, "--keyring")) {
		o->keyring = v;
	} else if (!strcmp(a, "--etc-apt")) {
		o->etc_apt = v;
	} else if (!strcmp(a, "--run")) {
		o->run = v;
	} else if (!strcmp(a, "--snapshot")) {
		o->snapshot = v;
	} else if (!strcmp(a, "--closure")) {
		o->closure = v;
	} else if (!strcmp(a, "--bench")) {
		o->bench = strtol(v, NULL, 10);
	} else {
		return false;
	}
	return true;
}

static int parse_args(struct lks_ctx *ctx, int argc, char **argv, struct ar_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->arch = "amd64";
	int i;
	for (i = 1; i < argc && argv[i][0] == '-'; i++) {
		const char *a = argv[i];
		int c = cli_common_option(ctx, argc, argv, &i);
		if (c < 0) {
			return -1;
		} else if (c > 0) {
			continue;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(ar_help, stdout);
			exit(EXIT_OK);
		} else if (!strcmp(a, "--long")) {
			o->long_fmt = true;
		} else if (!strcmp(a, "--json")) {
			o->json = true;
		} else if (i + 1 >= argc || !valued_option(o, a, argv[i + 1])) {
			fprintf(stderr, "lockstep: unknown option '%s' or missing value\n", a);
			return -1;
		} else {
			i++;
		}
	}
	o->words = argv + i;
	o->n_words = argc - i;
	if (o->snapshot && (o->etc_apt || o->image)) {
		fputs("lockstep: --snapshot and --etc-apt/--image cannot be combined yet\n", stderr);
		return -1;
	}
	if (o->image && (o->etc_apt || o->n_sources)) {
		fprintf(stderr, "lockstep: --image replaces --etc-apt and --sources\n");
		return -1;
	}
	if (!o->lists || (o->n_words == 0) == !o->run) {
		fputs(ar_help, stderr);
		return -1;
	}
	return 0;
}

static int load_index(struct lks_ctx *ctx, const struct ar_opts *o, struct lks_apt_index *idx)
{
	struct lks_apt_sources srcs;
	lks_apt_sources_init(&srcs);
	int rc = 0;
	if (o->etc_apt) {
		rc = lks_apt_config_load(ctx, o->etc_apt, &srcs, NULL);
	}
	for (size_t i = 0; rc == 0 && i < o->n_sources; i++) {
		rc = lks_apt_sources_load(ctx, &srcs, o->sources[i]);
	}
	if (rc == 0) {
		bool any = o->n_sources || o->etc_apt;
		const struct lks_apt_sources *use = o->img ? &o->img->sources : any ? &srcs : NULL;
		rc = lks_apt_index_load_lists(ctx, idx, o->lists, use, o->archs);
	}
	lks_apt_sources_free(&srcs);
	if (rc >= 0 && !o->keyring) {
		lks_warn(ctx, "InRelease signatures not checked: no --keyring given");
	}
	for (size_t i = 0; rc >= 0 && o->keyring && i < idx->n_releases; i++) {
		struct lks_apt_release *r = &idx->releases[i];
		if (r->sig == LKS_APT_SIG_UNSIGNED) {
			lks_warn(ctx, "'%s' is not signed: nothing to verify", r->path);
			continue;
		}
		rc = lks_apt_release_verify(ctx, r->path, o->keyring);
		r->sig = rc == 1 ? LKS_APT_SIG_GOOD : LKS_APT_SIG_UNCHECKED;
	}
	return rc < 0 ? rc : 0;
}

/* 1 when the index came from the snapshot, 0 when it must be built. */
static int restore_snapshot(struct lks_ctx *ctx, const char *path, const char *key,
                            struct lks_apt_index *idx)
{
	int rc = lks_apt_index_restore_file(ctx, idx, key, path);
	if (rc < 0 && rc != -ENOENT) {
		lks_warn(ctx, "warning: rebuilding the apt index: %s", lks_errmsg(ctx, rc));
	}
	ctx->err[0] = '\0';
	return rc == 0;
}

static int save_snapshot(struct lks_ctx *ctx, const char *path, const char *key,
                         const struct lks_apt_index *idx)
{
	struct lks_buf b;
	lks_buf_init(&b, (size_t)1 << 31);
	int rc = lks_apt_index_save(ctx, idx, key, &b);
	if (rc == 0) {
		rc = lks_write_file_atomic(ctx, path, b.data, b.len, 0644);
	}
	lks_buf_free(&b);
	return rc;
}

/* The index: from the snapshot when it matches the lists, else built (and the snapshot
 * written). `rebuild` ignores (and replaces) the snapshot. */
static int load_cached(struct lks_ctx *ctx, const struct ar_opts *o, struct lks_apt_index *idx,
                       bool rebuild)
{
	struct lks_buf key;
	lks_buf_init(&key, 0);
	int rc = 0, restored = 0;
	if (o->snapshot) {
		rc = lks_apt_snapshot_key(ctx, o->lists, o->archs, o->sources, o->n_sources,
		                          o->keyring, &key);
		restored = rc == 0 && !rebuild ? restore_snapshot(ctx, o->snapshot, key.data, idx) : 0;
	}
	if (rc == 0 && !restored) {
		rc = load_index(ctx, o, idx);
		if (rc == 0 && o->snapshot) {
			rc = save_snapshot(ctx, o->snapshot, key.data, idx);
		}
	}
	lks_buf_free(&key);
	return rc;
}

static int load_prefs(struct lks_ctx *ctx, const struct ar_opts *o, struct lks_apt_prefs *prefs)
{
	int rc = 0;
	if (o->etc_apt) {
		rc = lks_apt_config_load(ctx, o->etc_apt, NULL, prefs);
	}
	for (size_t i = 0; rc == 0 && o->img && i < o->img->prefs.n; i++) {
		const struct lks_apt_pref *p = &o->img->prefs.v[i];
		rc = lks_apt_prefs_add(prefs, p->package, p->type, p->data, p->priority);
	}
	for (size_t i = 0; rc == 0 && i < o->n_prefs; i++) {
		rc = lks_apt_prefs_load(ctx, prefs, o->prefs[i]);
	}
	return rc;
}

/* A snapshot's blocks are checked as lookups touch them. Run this command's lookups once,
 * silently, before anything is printed: when one met a damaged block, the caller rebuilds
 * the index from the lists, so no answer comes from a damaged snapshot. */
static bool rehearse_damaged(struct lks_ctx *ctx, const struct ar_opts *o,
                             const struct lks_apt_policy *pol,
                             const struct lks_apt_request *reqs)
{
	char warn[sizeof(ctx->warn)];
	memcpy(warn, ctx->warn, sizeof(warn));
	struct lks_apt_choice *ch = calloc((size_t)o->n_words + 1, sizeof(*ch));
	size_t n = 0;
	for (int i = 0; ch && i < o->n_words; i++) {
		n += lks_apt_resolve(ctx, pol, &reqs[i], &ch[n]) == 0;
	}
	if (ch && o->closure && !o->run) {
		struct lks_apt_installed inst = {0};
		struct lks_apt_closure c = {0};
		(void)lks_apt_closure(ctx, pol, &inst, ch, n, &c);
		lks_apt_closure_free(&c);
	}
	if (o->run) {
		struct lks_buf out;
		struct lks_apt_rewrite_result res = {0};
		lks_buf_init(&out, 0);
		(void)lks_apt_rewrite_command(ctx, pol, o->run, strlen(o->run), &out, &res);
		lks_apt_rewrite_result_free(&res);
		lks_buf_free(&out);
	}
	free(ch);
	memcpy(ctx->warn, warn, sizeof(warn));
	ctx->err[0] = '\0';
	return lks_apt_index_damaged(pol->idx);
}

/* Index, preferences and policy; an index restored from a damaged snapshot is rebuilt. */
static int load_all(struct lks_ctx *ctx, const struct ar_opts *o, struct lks_apt_index *idx,
                    struct lks_apt_prefs *prefs, struct lks_apt_policy *pol,
                    const struct lks_apt_request *reqs)
{
	int rc = load_cached(ctx, o, idx, false);
	rc = rc ? rc : load_prefs(ctx, o, prefs);
	rc = rc ? rc : lks_apt_policy_init(ctx, pol, idx, prefs, o->target, o->arch);
	if (rc == 0 && idx->snap && rehearse_damaged(ctx, o, pol, reqs)) {
		lks_apt_index_check(ctx, idx);
		lks_warn(ctx, "warning: rebuilding the apt index: %s", ctx->err);
		ctx->err[0] = '\0';
		lks_apt_policy_free(pol);
		memset(pol, 0, sizeof(*pol));
		size_t max = idx->max_pkgs;
		lks_apt_index_free(idx);
		lks_apt_index_init(idx);
		idx->max_pkgs = max;
		rc = load_cached(ctx, o, idx, true);
		rc = rc ? rc : lks_apt_policy_init(ctx, pol, idx, prefs, o->target, o->arch);
	}
	return rc;
}

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* Resolution only, with the index already built (what a cached index would give). */
static void bench_rounds(struct lks_ctx *ctx, const struct ar_opts *o,
                         const struct lks_apt_policy *pol, const struct lks_apt_request *reqs,
                         double load_ms)
{
	double t0 = now_ms();
	for (long r = 0; r < o->bench; r++) {
		for (int i = 0; i < o->n_words; i++) {
			struct lks_apt_choice c;
			(void)lks_apt_resolve(ctx, pol, &reqs[i], &c);
		}
	}
	double per = o->bench > 0 ? (now_ms() - t0) / (double)o->bench : 0;
	fprintf(stderr, "bench: load_ms=%.1f resolve_ms=%.3f requests=%d\n", load_ms, per,
	        o->n_words);
}

static void print_choice(const struct ar_opts *o, const struct lks_apt_choice *c)
{
	const struct lks_apt_pkg *p = c->pkg;
	const char *suite = c->release->suite ? c->release->suite : "-";
	printf("%s %s %s", p->name, p->version, suite);
	if (o->long_fmt) {
		char date[21] = "-";
		if (c->release->date_epoch) {
			lks_format_time(c->release->date_epoch, date);
		}
		printf(" arch=%s prio=%d filename=%s sha256=%s size=%llu date=%s sig=%s", p->arch,
		       c->priority, p->filename ? p->filename : "-", p->sha256 ? p->sha256 : "-",
		       (unsigned long long)p->size, date,
		       c->release->sig == LKS_APT_SIG_GOOD ? "good" : "unchecked");
		if (c->provider_of[0]) {
			printf(" provides=%s", c->provider_of);
		}
	}
	putchar('\n');
}

static void json_add(struct lks_ctx *ctx, json_t *arr, const char *word,
                     const struct lks_apt_choice *c, int rc)
{
	json_t *o = rc == 0 ? lks_apt_choice_json(c) : json_object();
	if (!o) {
		return;
	}
	json_object_set_new(o, "request", json_string(word));
	if (rc < 0) {
		json_object_set_new(o, "error", json_string(lks_errmsg(ctx, rc)));
	}
	json_array_append_new(arr, o);
}

static int json_print(struct lks_ctx *ctx, json_t *arr)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_json_dump_stable(ctx, arr, &b);
	if (rc == 0) {
		fputs(b.data, stdout);
	}
	lks_buf_free(&b);
	return rc;
}

/* Resolve and print every request; *failed is set when one of them failed. */
static int resolve_all(struct lks_ctx *ctx, const struct ar_opts *o,
                       const struct lks_apt_policy *pol, const struct lks_apt_request *reqs,
                       bool *failed)
{
	json_auto_t *arr = o->json ? json_array() : NULL;
	for (int i = 0; i < o->n_words; i++) {
		struct lks_apt_choice c;
		ctx->err[0] = '\0';
		int rc = lks_apt_resolve(ctx, pol, &reqs[i], &c);
		*failed = *failed || rc < 0;
		if (arr) {
			json_add(ctx, arr, o->words[i], &c, rc);
		} else if (rc < 0) {
			cli_fail(ctx, rc);
			printf("%s - -\n", o->words[i]);
		} else {
			print_choice(o, &c);
		}
	}
	if (arr && json_print(ctx, arr) < 0) {
		return cli_fail(ctx, -LKS_E_INVAL);
	}
	return EXIT_OK;
}

static int pin_run(struct lks_ctx *ctx, const char *run, const struct lks_apt_policy *pol,
                   bool *failed)
{
	struct lks_buf out;
	struct lks_apt_rewrite_result res = {0};
	lks_buf_init(&out, 0);
	int rc = lks_apt_rewrite_command(ctx, pol, run, strlen(run), &out, &res);
	if (rc == 0) {
		puts(out.data);
	}
	for (size_t i = 0; rc == 0 && i < res.n; i++) {
		if (res.v[i].rc < 0) {
			fprintf(stderr, "lockstep: %s\n", res.v[i].err);
			*failed = true;
		}
	}
	lks_apt_rewrite_result_free(&res);
	lks_buf_free(&out);
	return rc < 0 ? cli_fail(ctx, rc) : EXIT_OK;
}

/* --closure: the dependency closure of the requests that resolved. */
static int print_closure(struct lks_ctx *ctx, const struct ar_opts *o,
                         const struct lks_apt_policy *pol, const struct lks_apt_request *reqs)
{
	struct lks_buf st;
	struct lks_apt_installed inst = {0};
	struct lks_apt_closure c = {0};
	struct lks_apt_choice *ch = calloc((size_t)o->n_words + 1, sizeof(*ch));
	size_t n = 0;
	lks_buf_init(&st, 0);
	int rc = ch ? lks_buf_read_file(&st, o->closure) : -ENOMEM;
	rc = rc ? rc : lks_apt_installed_parse(ctx, o->closure, st.data, st.len, &inst);
	for (int i = 0; rc == 0 && i < o->n_words; i++) {
		n += lks_apt_resolve(ctx, pol, &reqs[i], &ch[n]) == 0;
	}
	rc = rc ? rc : lks_apt_closure(ctx, pol, &inst, ch, n, &c);
	for (size_t i = 0; rc == 0 && i < c.n; i++) {
		const struct lks_apt_choice *e = &c.v[i].choice;
		printf("+ %s %s %s of=%s\n", e->pkg->name, e->pkg->version,
		       e->release->suite ? e->release->suite : "-", c.v[i].of);
	}
	lks_apt_closure_free(&c);
	lks_apt_installed_free(&inst);
	lks_buf_free(&st);
	free(ch);
	return rc < 0 ? cli_fail(ctx, rc) : EXIT_OK;
}

/* --image: the image's own apt configuration, with --apt-source additions. */
static int load_image(struct lks_ctx *ctx, struct ar_opts *o, struct lks_apt_config *cfg)
{
	struct lks_imagefs_opts io = {.cache_get = lks_cache_get, .cache_put = lks_cache_put};
	int rc = lks_apt_image_config(ctx, o->image, o->platform, &io, cfg);
	for (size_t i = 0; rc == 0 && i < o->n_apt_sources; i++) {
		rc = lks_apt_config_add_source(ctx, cfg, o->apt_sources[i]);
	}
	if (rc < 0) {
		return rc;
	}
	o->img = cfg;
	if (!o->arch_set) {
		o->arch = cfg->arch;
	}
	add_arch(o, o->arch);
	for (char **a = cfg->archs; a && *a; a++) {
		add_arch(o, *a);
	}
	return 0;
}

int cmd_apt_resolve(struct lks_ctx *ctx, int argc, char **argv)
{
	struct ar_opts o;
	struct lks_apt_config cfg;
	lks_apt_config_init(&cfg);
	if (parse_args(ctx, argc, argv, &o) < 0) {
		return EXIT_ERROR;
	}
	int lrc = o.image ? load_image(ctx, &o, &cfg) : 0;
	if (lrc < 0) {
		int st = cli_fail(ctx, lrc);
		lks_apt_config_free(&cfg);
		return st;
	}
	add_arch(&o, o.arch);
	struct lks_apt_request *reqs = calloc((size_t)o.n_words, sizeof(*reqs));
	int status = reqs ? EXIT_OK : EXIT_ERROR;
	for (int i = 0; status == EXIT_OK && i < o.n_words; i++) {
		int rc = lks_apt_request_parse(ctx, o.words[i], &reqs[i]);
		if (rc < 0) {
			status = cli_fail(ctx, rc);
		} else if (reqs[i].arch[0]) {
			add_arch(&o, reqs[i].arch);
		}
	}
	struct lks_apt_index idx;
	struct lks_apt_prefs prefs;
	struct lks_apt_policy pol = {0};
	bool failed = false;
	lks_apt_index_init(&idx);
	lks_apt_prefs_init(&prefs);
	double t0 = now_ms();
	int rc = status == EXIT_OK ? load_all(ctx, &o, &idx, &prefs, &pol, reqs) : 0;
	if (rc < 0) {
		status = cli_fail(ctx, rc);
	}
	if (status == EXIT_OK && o.bench > 0) {
		bench_rounds(ctx, &o, &pol, reqs, now_ms() - t0);
	}
	if (status == EXIT_OK && o.run) {
		status = pin_run(ctx, o.run, &pol, &failed);
	} else if (status == EXIT_OK) {
		status = resolve_all(ctx, &o, &pol, reqs, &failed);
	}
	if (status == EXIT_OK && o.closure && !o.run) {
		status = print_closure(ctx, &o, &pol, reqs);
	}
	lks_apt_policy_free(&pol);
	lks_apt_prefs_free(&prefs);
	if (status == EXIT_OK && failed) {
		status = EXIT_FINDINGS;
	}
	lks_apt_index_free(&idx);
	lks_apt_config_free(&cfg);
	free(reqs);
	return status;
}
