/* lockstep verify: build twice (or more) with a real builder and compare the images. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/image.h"
#include "lockstep/regconf.h"
#include "lockstep/verify.h"
#include "verifier/spawn.h"
#include "verifier/tree.h"

#define VARIED_TZ "Etc/GMT-14"
#define VARIED_LANG "fr_CH.UTF-8"
#define VARIED_HOSTNAME "lockstep-varied-host"
#define ERROR_TAIL 1200 /* bytes of builder output quoted in an error */

extern char **environ;

static const char *const vary_names[LKS_VARY_N] = {"path", "tz", "lang", "umask", "hostname"};

const char *lks_vary_name(unsigned bit)
{
	for (int i = 0; i < LKS_VARY_N; i++) {
		if (bit == 1u << i) {
			return vary_names[i];
		}
	}
	return NULL;
}

int lks_vary_parse(struct lks_ctx *ctx, const char *s, unsigned *out)
{
	*out = 0;
	if (!strcmp(s, "all") || !strcmp(s, "none")) {
		*out = !strcmp(s, "all") ? LKS_VARY_ALL : 0;
		return 0;
	}
	for (const char *p = s; *p;) {
		size_t n = strcspn(p, ",");
		int hit = -1;
		for (int i = 0; i < LKS_VARY_N && hit < 0; i++) {
			if (strlen(vary_names[i]) == n && !strncmp(p, vary_names[i], n)) {
				hit = i;
			}
		}
		if (hit < 0) {
			return lks_err(ctx, -LKS_E_INVAL,
			               "unknown variation '%.*s' (known: all, none, "
			               "path, tz, lang, umask, hostname)",
			               (int)n, p);
		}
		*out |= 1u << hit;
		p += n + (p[n] == ',');
	}
	return 0;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* snprintf into a PATH_MAX buffer; a path that does not fit is an error, never cut short. */
__attribute__((format(printf, 3, 4))) static int path_fmt(struct lks_ctx *ctx, char *out,
                                                          const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(out, PATH_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= PATH_MAX) {
		return lks_err(ctx, -ENAMETOOLONG, "path too long: '%.80s...'", out);
	}
	return 0;
}

struct run {
	struct lks_ctx *ctx;
	const struct lks_verify_opts *o;
	struct lks_verify_result *res;
	char work[PATH_MAX];    /* scratch, always removed */
	char outroot[PATH_MAX]; /* images and logs */
	char context[PATH_MAX]; /* realpath */
	char dockerfile[PATH_MAX];
	long long epoch;
	struct lks_image_set base; /* build 1, loaded for every comparison */
	bool base_loaded;
	char regconf[PATH_MAX];     /* registries.conf written for the builder, "" when none */
	char regconf_dir[PATH_MAX]; /* an empty registries.conf.d beside it */
};

/* The context's last commit time; 0 outside a git repository or without git. */
static long long git_epoch(struct run *r, bool *found)
{
	char *const argv[] = {"git", "-C", r->context, "log", "-1", "--format=%ct", NULL};
	struct lks_buf out;
	lks_buf_init(&out, 0);
	struct spawn_opts so = {
	    .argv = argv, .umask = -1, .log_fd = -1, .tail = &out, .timeout_ms = 30000};
	int status = -1;
	long long t = 0;
	*found = false;
	if (spawn_run(r->ctx, &so, &status) == 0 && status == 0 && out.data) {
		char *end;
		t = strtoll(out.data, &end, 10);
		*found = end != out.data && (*end == '\n' || !*end) && t >= 0;
		t = *found ? t : 0;
	}
	r->ctx->err[0] = '\0';
	lks_buf_free(&out);
	return t;
}

static bool has_prefix_var(const char *e, unsigned vary)
{
	if (!strncmp(e, "SOURCE_DATE_EPOCH=", 18)) {
		return true;
	}
	if ((vary & LKS_VARY_TZ) && !strncmp(e, "TZ=", 3)) {
		return true;
	}
	return (vary & LKS_VARY_LANG) && (!strncmp(e, "LANG=", 5) || !strncmp(e, "LC_ALL=", 7) ||
	                                  !strncmp(e, "LANGUAGE=", 9));
}

/* The builder's environment: ours, SOURCE_DATE_EPOCH, the varied variables, and TMPDIR in
 * the scratch directory, so what a killed builder leaves behind (buildah's storageNNN pull
 * directories) is removed with it. */
static int make_env(const struct run *r, unsigned vary, struct lks_build_cmd *env)
{
	char sde[64], tmp[PATH_MAX + 8];
	snprintf(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%lld", r->epoch);
	snprintf(tmp, sizeof(tmp), "TMPDIR=%s", r->work);
	int rc = lks_build_cmd_push(env, sde);
	rc = rc ? rc : lks_build_cmd_push(env, tmp);
	/* podman and command builders read registries.conf from here (buildah gets options) */
	bool conf = r->regconf[0] && strcmp(r->o->builder->name, "buildah");
	for (char **e = environ; *e && rc == 0; e++) {
		bool skip = has_prefix_var(*e, vary) || !strncmp(*e, "TMPDIR=", 7) ||
		            (conf && !strncmp(*e, "CONTAINERS_REGISTRIES_CONF=", 27));
		rc = skip ? 0 : lks_build_cmd_push(env, *e);
	}
	if (rc == 0 && conf) {
		char v[PATH_MAX + 32];
		snprintf(v, sizeof(v), "CONTAINERS_REGISTRIES_CONF=%s", r->regconf);
		rc = lks_build_cmd_push(env, v);
	}
	if (rc == 0 && (vary & LKS_VARY_TZ)) {
		rc = lks_build_cmd_push(env, "TZ=" VARIED_TZ);
	}
	if (rc == 0 && (vary & LKS_VARY_LANG)) {
		rc = lks_build_cmd_push(env, "LANG=" VARIED_LANG);
		rc = rc ? rc : lks_build_cmd_push(env, "LC_ALL=" VARIED_LANG);
		rc = rc ? rc : lks_build_cmd_push(env, "LANGUAGE=fr_CH:fr");
	}
	return rc;
}

/* Paths of one build: its storage, its context (a copy under a longer path when the path
 * varies), its image and its log. */
struct one {
	const char *name;
	unsigned vary;
	char store[PATH_MAX], ctxcopy[PATH_MAX], context[PATH_MAX], dockerfile[PATH_MAX];
	char out[PATH_MAX], log[PATH_MAX], tag[128];
};

static int place(struct run *r, struct one *b)
{
	struct lks_ctx *c = r->ctx;
	snprintf(b->tag, sizeof(b->tag), "localhost/lockstep-verify-%s:latest", b->name);
	int rc = path_fmt(c, b->store, "%s/%s.store", r->work, b->name);
	rc = rc ? rc : path_fmt(c, b->out, "%s/%s", r->outroot, b->name);
	rc = rc ? rc : path_fmt(c, b->log, "%s/%s.log", r->outroot, b->name);
	rc = rc ? rc : path_fmt(c, b->context, "%s", r->context);
	rc = rc ? rc : path_fmt(c, b->dockerfile, "%s", r->dockerfile);
	rc = rc ? rc : tree_remove(c, b->out);
	rc = rc ? rc : tree_remove(c, b->log);
	if (rc < 0 || !(b->vary & LKS_VARY_PATH)) {
		return rc;
	}
	rc = path_fmt(c, b->ctxcopy, "%s/%s.path", r->work, b->name);
	rc = rc ? rc : path_fmt(c, b->context, "%s/a/longer/build/path", b->ctxcopy);
	if (rc < 0) {
		return rc;
	}
	/* every directory above the copy, which tree_copy creates itself */
	char mid[PATH_MAX];
	memcpy(mid, b->context, sizeof(mid));
	for (char *p = mid + strlen(r->work) + 1; (p = strchr(p, '/')); p++) {
		*p = '\0';
		if (mkdir(mid, 0755) < 0 && errno != EEXIST) {
			return lks_err(c, -errno, "cannot create '%s': %s", mid, strerror(errno));
		}
		*p = '/';
	}
	size_t cl = strlen(r->context);
	if (!strncmp(r->dockerfile, r->context, cl) && r->dockerfile[cl] == '/') {
		rc = path_fmt(c, b->dockerfile, "%s%s", b->context, r->dockerfile + cl);
	}
	return rc ? rc : tree_copy(c, r->context, b->context);
}

/* The build failed: say which command, how, and how its output ends. */
static int build_failed(struct run *r, const struct one *b, char *const *argv, int status,
                        const struct lks_buf *tail)
{
	const char *t = tail->data ? tail->data : "";
	if (tail->len > ERROR_TAIL) {
		t += tail->len - ERROR_TAIL;
		const char *nl = strchr(t, '\n');
		t = nl ? nl + 1 : t;
	}
	static const char *const subs[] = {"bud", "build", "push", "buildx", "-c"};
	const char *sub = "";
	for (size_t i = 1; argv[i] && !*sub; i++) {
		for (size_t k = 0; k < ARRAY_SIZE(subs) && !*sub; k++) {
			sub = !strcmp(argv[i], subs[k]) ? argv[i] : "";
		}
	}
	return lks_err(r->ctx, -LKS_E_CHILD, "%s failed: '%s %s' exited with status %d%s%s%s\n%s",
	               b->name, argv[0], sub, status, r->o->keep ? " (log: " : "",
	               r->o->keep ? b->log : "", r->o->keep ? ")" : "", t);
}

static void live(void *opaque, const char *data, size_t len)
{
	const struct lks_verify_opts *o = opaque;
	o->output(o->opaque, data, len);
}

static int run_cmd(struct run *r, const struct one *b, char *const *argv, char *const *envp,
                   int log_fd)
{
	struct lks_buf tail;
	lks_buf_init(&tail, 0);
	dprintf(log_fd, "$");
	for (size_t i = 0; argv[i]; i++) {
		dprintf(log_fd, " %s", argv[i]);
	}
	dprintf(log_fd, "\n");
	struct spawn_opts so = {.argv = argv,
	                        .envp = envp,
	                        .umask = (b->vary & LKS_VARY_UMASK) ? 002 : 022,
	                        .hostname = (b->vary & LKS_VARY_HOSTNAME) ? VARIED_HOSTNAME : NULL,
	                        .log_fd = log_fd,
	                        .tail = &tail,
	                        .timeout_ms = r->o->timeout_ms,
	                        .live = r->o->output ? live : NULL,
	                        .live_opaque = (void *)r->o,
	                        .cancel = r->o->cancel};
	int status = 0;
	int rc = spawn_run(r->ctx, &so, &status);
	if (rc < 0) {
		char detail[sizeof(r->ctx->err)];
		snprintf(detail, sizeof(detail), "%s", r->ctx->err);
		rc = lks_err(r->ctx, rc, "%s failed: %s", b->name, detail);
	} else if (status != 0) {
		rc = build_failed(r, b, argv, status, &tail);
	}
	lks_buf_free(&tail);
	return rc;
}

/* What the build left at out: an OCI layout directory or an archive. */
static int find_image(struct run *r, const struct one *b, char **image)
{
	struct stat st;
	char index[PATH_MAX + 16];
	snprintf(index, sizeof(index), "%s/index.json", b->out);
	if (stat(b->out, &st) == 0 && S_ISDIR(st.st_mode) && access(index, R_OK) == 0) {
		return asprintf(image, "oci:%s", b->out) < 0 ? -ENOMEM : 0;
	}
	if (stat(b->out, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
		return asprintf(image, "oci-archive:%s", b->out) < 0 ? -ENOMEM : 0;
	}
	*image = NULL;
	return lks_err(r->ctx, -LKS_E_NOTFOUND,
	               "%s: the builder exited with status 0 but wrote no image to '%s'", b->name,
	               b->out);
}

static int run_plan(struct run *r, const struct one *b, struct lks_build_cmd *cmds, size_t n)
{
	struct lks_build_cmd env;
	lks_build_cmd_init(&env);
	int rc = make_env(r, b->vary, &env);
	_cleanup_close_ int log_fd =
	    rc < 0 ? -1 : open(b->log, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (rc == 0 && log_fd < 0) {
		rc = lks_err(r->ctx, -errno, "cannot create '%s': %s", b->log, strerror(errno));
	}
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = run_cmd(r, b, cmds[i].argv, env.argv, log_fd);
	}
	lks_build_cmd_free(&env);
	return rc;
}

/* The end of a build log, for the reports: NULL when it cannot be read (not an error). */
static char *log_tail(const char *path)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0) {
		return NULL;
	}
	off_t from = st.st_size > LKS_VERIFY_OUTPUT_MAX ? st.st_size - LKS_VERIFY_OUTPUT_MAX : 0;
	char *t = malloc(LKS_VERIFY_OUTPUT_MAX + 1);
	ssize_t n = t ? pread(fd, t, LKS_VERIFY_OUTPUT_MAX, from) : -1;
	if (n < 0) {
		free(t);
		return NULL;
	}
	t[n] = '\0';
	/* cut where a line starts, when cut at all */
	char *nl = from ? memchr(t, '\n', (size_t)n) : NULL;
	if (nl) {
		memmove(t, nl + 1, (size_t)(t + n - nl));
	}
	return t;
}

static int build_one(struct run *r, struct one *b, struct lks_verify_build *out)
{
	double t0 = now_s();
	int rc = place(r, b);
	struct lks_build_req req = r->o->req;
	req.context = b->context;
	req.dockerfile = b->dockerfile;
	req.out = b->out;
	req.work = b->store;
	req.tag = b->tag;
	req.epoch = r->epoch;
	req.storage = r->res->storage;
	req.registries_conf = r->regconf[0] ? r->regconf : NULL;
	req.registries_conf_dir = r->regconf[0] ? r->regconf_dir : NULL;
	struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS];
	size_t n = 0;
	if (rc == 0 && mkdir(b->store, 0700) < 0) {
		rc = lks_err(r->ctx, -errno, "cannot create '%s': %s", b->store, strerror(errno));
	}
	rc = rc ? rc : r->o->builder->plan(r->ctx, &req, cmds, &n);
	rc = rc ? rc : run_plan(r, b, cmds, n);
	for (size_t i = 0; i < n; i++) {
		lks_build_cmd_free(&cmds[i]);
	}
	*out = (struct lks_verify_build){.vary = b->vary, .seconds = now_s() - t0};
	rc = rc ? rc : find_image(r, b, &out->image);
	out->output = rc ? NULL : log_tail(b->log);
	if (rc == 0 && r->o->keep && !(out->log = strdup(b->log))) {
		rc = -ENOMEM;
	}
	/* Builder storage is large (vfs copies every layer): drop it as soon as possible; a
	 * half-written image too (its log stays). */
	int rm = rc ? tree_remove(r->ctx, b->out) : 0;
	rm = rm ? rm : tree_unmount(r->ctx, b->store);
	rm = rm ? rm : tree_remove(r->ctx, b->store);
	rm = rm ? rm : (b->ctxcopy[0] ? tree_remove(r->ctx, b->ctxcopy) : 0);
	r->res->build_seconds += out->seconds;
	return rc ? rc : rm;
}

static void event(struct run *r, enum lks_verify_event_kind kind, size_t build, bool bisect,
                  unsigned vary, double seconds)
{
	if (r->o->progress) {
		struct lks_verify_event ev = {kind,   build, (size_t)r->o->repeat,
		                              bisect, vary,  seconds};
		r->o->progress(r->o->opaque, &ev);
	}
}

/* Build and compare against build 1: *differs, and the pair kept when pair is non-NULL. */
static int build_and_compare(struct run *r, struct one *b, size_t k, bool bisect,
                             struct lks_verify_build *vb, struct lks_diff_result *diff)
{
	if (r->o->cancel && *r->o->cancel) {
		return lks_err(r->ctx, -ECANCELED, "interrupted");
	}
	event(r, LKS_VERIFY_BUILD_START, k, bisect, b->vary, 0);
	int rc = build_one(r, b, vb);
	if (rc < 0) {
		return rc;
	}
	event(r, LKS_VERIFY_BUILD_DONE, k, bisect, b->vary, vb->seconds);
	if (k == 1) {
		rc = lks_image_set_load(r->ctx, vb->image, &r->base);
		r->base_loaded = rc == 0;
		return rc;
	}
	event(r, LKS_VERIFY_COMPARE, k, bisect, b->vary, 0);
	struct lks_image_set set = {0};
	rc = lks_image_set_load(r->ctx, vb->image, &set);
	struct lks_diff_opts d = r->o->diff;
	d.dockerfile = r->dockerfile;
	rc = rc ? rc : lks_diff_images(r->ctx, &r->base, &set, &d, diff);
	lks_image_set_free(&set);
	return rc;
}

static int builds(struct run *r)
{
	struct lks_verify_result *res = r->res;
	size_t n = (size_t)r->o->repeat;
	res->builds = calloc(n, sizeof(*res->builds));
	res->pairs = calloc(n, sizeof(*res->pairs));
	if (!res->builds || !res->pairs) {
		return -ENOMEM;
	}
	int rc = 0;
	for (size_t k = 1; k <= n && rc == 0; k++) {
		char name[32];
		snprintf(name, sizeof(name), "build-%zu", k);
		struct one b = {.name = name, .vary = k == 1 ? 0 : r->o->vary};
		struct lks_verify_pair *p = &res->pairs[res->n_pairs];
		rc = build_and_compare(r, &b, k, false, &res->builds[k - 1], &p->diff);
		res->n_builds = k;
		if (k > 1) {
			*p = (struct lks_verify_pair){.a = 0, .b = k - 1, .diff = p->diff};
			res->n_pairs++;
			res->reproducible &= rc == 0 && !p->diff.differs;
		}
	}
	return rc;
}

/* One rebuild with the given variations: does it differ from build 1? */
static int rebuild_differs(struct run *r, unsigned vary, bool *differs)
{
	char name[32];
	snprintf(name, sizeof(name), "bisect-%s", vary ? lks_vary_name(vary) : "none");
	struct one b = {.name = name, .vary = vary};
	struct lks_verify_build vb = {0};
	struct lks_diff_result d = {0};
	int rc = build_and_compare(r, &b, 2, true, &vb, &d);
	*differs = rc == 0 && d.differs;
	free(vb.image);
	free(vb.log);
	free(vb.output);
	lks_diff_result_free(&d);
	return rc;
}

/* Name the variations that cause the difference: first a rebuild without any (if it differs
 * too, the build is not reproducible whatever the environment), then one per variation. */
static int bisect(struct run *r)
{
	struct lks_verify_result *res = r->res;
	res->bisected = true;
	bool differs;
	int rc = rebuild_differs(r, 0, &differs);
	res->differs_unvaried = differs;
	for (int i = 0; i < LKS_VARY_N && rc == 0 && !differs; i++) {
		unsigned bit = 1u << i;
		if (!(r->o->vary & bit)) {
			continue;
		}
		bool d;
		rc = rebuild_differs(r, bit, &d);
		res->tried |= bit;
		res->causes |= d ? bit : 0;
	}
	return rc;
}

static int check_inputs(struct run *r)
{
	const struct lks_build_req *q = &r->o->req;
	struct stat st;
	if (!q->context || !realpath(q->context, r->context) || stat(r->context, &st) < 0 ||
	    !S_ISDIR(st.st_mode)) {
		return lks_err(r->ctx, -LKS_E_NOTFOUND, "build context '%s' is not a directory",
		               q->context ? q->context : "");
	}
	char df[PATH_MAX];
	if (path_fmt(r->ctx, df, "%s/Dockerfile", r->context) < 0) {
		return -ENAMETOOLONG;
	}
	const char *want = q->dockerfile ? q->dockerfile : df;
	if (!realpath(want, r->dockerfile) || stat(r->dockerfile, &st) < 0 ||
	    !S_ISREG(st.st_mode)) {
		return lks_err(r->ctx, -LKS_E_NOTFOUND, "Dockerfile '%s' not found", want);
	}
	if (r->o->repeat < 2) {
		return lks_err(r->ctx, -LKS_E_INVAL, "--repeat needs at least 2 builds");
	}
	return 0;
}

static int make_dirs(struct run *r)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(r->work, sizeof(r->work), "%s/lockstep-verify.XXXXXX",
	         tmp && *tmp ? tmp : "/var/tmp");
	if (!mkdtemp(r->work)) {
		int e = errno;
		r->work[0] = '\0';
		return lks_err(r->ctx, -e, "cannot create a temporary directory: %s", strerror(e));
	}
	if (!r->o->keep) {
		int rc = path_fmt(r->ctx, r->outroot, "%s/images", r->work);
		return rc ? rc : mkdir(r->outroot, 0700) < 0 ? -errno : 0;
	}
	if (mkdir(r->o->keep, 0755) < 0 && errno != EEXIST) {
		return lks_err(r->ctx, -errno, "cannot create '%s': %s", r->o->keep,
		               strerror(errno));
	}
	if (!realpath(r->o->keep, r->outroot)) {
		return lks_err(r->ctx, -errno, "cannot use '%s': %s", r->o->keep, strerror(errno));
	}
	return 0;
}

/* Mirrors from --registry-mirror / $LOCKSTEP_REGISTRY_MIRROR are lockstep's own: the builder
 * gets the whole configuration lockstep uses (registries.conf, drop-ins and those mirrors)
 * written out, so it pulls bases from where pin resolved them. Without them the builder reads
 * the same files lockstep reads. Docker's daemon has its own mirror settings. */
static int builder_registries(struct run *r)
{
	const struct lks_regconf *c;
	if (!lks_regconf_has_options(r->ctx->regconf)) {
		return 0;
	}
	if (!strcmp(r->o->builder->name, "docker")) {
		lks_warn(r->ctx, "warning: docker builds pull through the daemon's own registry "
		                 "mirrors (daemon.json registry-mirrors), not --registry-mirror");
		return 0;
	}
	int rc = lks_regconf_get(r->ctx, &c);
	rc = rc ? rc : path_fmt(r->ctx, r->regconf, "%s/registries.conf", r->work);
	rc = rc ? rc : path_fmt(r->ctx, r->regconf_dir, "%s/registries.conf.d", r->work);
	if (rc == 0 && mkdir(r->regconf_dir, 0700) < 0) {
		rc = lks_err(r->ctx, -errno, "cannot create '%s': %s", r->regconf_dir,
		             strerror(errno));
	}
	rc = rc ? rc : lks_regconf_write(r->ctx, c, r->regconf);
	if (rc < 0) {
		r->regconf[0] = '\0';
	}
	return rc;
}

static int pick_storage(struct run *r)
{
	char probe[PATH_MAX];
	r->res->storage = r->o->storage;
	if (r->o->storage) {
		return 0;
	}
	int rc = path_fmt(r->ctx, probe, "%s/storage-probe", r->work);
	return rc ? rc : lks_build_storage_probe(r->ctx, r->o->builder, probe, &r->res->storage);
}

static void set_epoch(struct run *r)
{
	bool found = false;
	r->epoch = r->o->epoch_set ? r->o->req.epoch : git_epoch(r, &found);
	r->res->epoch = r->epoch;
	r->res->epoch_source = r->o->epoch_set ? "option" : found ? "git" : "default";
}

int lks_verify_run(struct lks_ctx *ctx, const struct lks_verify_opts *o,
                   struct lks_verify_result *result)
{
	double t0 = now_s();
	*result = (struct lks_verify_result){.builder = o->builder->name,
	                                     .reproducible = true,
	                                     .vary = o->vary,
	                                     .dockerfile = o->req.dockerfile};
	struct run *r = calloc(1, sizeof(*r));
	if (!r) {
		return -ENOMEM;
	}
	*r = (struct run){.ctx = ctx, .o = o, .res = result};
	int rc = check_inputs(r);
	rc = rc ? rc : make_dirs(r);
	rc = rc ? rc : builder_registries(r);
	rc = rc ? rc : pick_storage(r);
	if (rc == 0) {
		set_epoch(r);
		rc = builds(r);
	}
	if (rc == 0 && !result->reproducible && o->bisect && o->vary) {
		rc = bisect(r);
	}
	if (r->base_loaded) {
		lks_image_set_free(&r->base);
	}
	if (r->work[0]) {
		char keep_err[sizeof(ctx->err)];
		snprintf(keep_err, sizeof(keep_err), "%s", ctx->err);
		if (tree_unmount(ctx, r->work) < 0 || tree_remove(ctx, r->work) < 0) {
			lks_warn(ctx, "cannot remove '%s': %s", r->work, ctx->err);
		}
		snprintf(ctx->err, sizeof(ctx->err), "%s", keep_err);
	}
	result->reproducible &= rc == 0;
	result->total_seconds = now_s() - t0;
	free(r);
	return rc;
}

void lks_verify_result_free(struct lks_verify_result *r)
{
	for (size_t i = 0; i < r->n_builds; i++) {
		free(r->builds[i].image);
		free(r->builds[i].log);
		free(r->builds[i].output);
	}
	for (size_t i = 0; i < r->n_pairs; i++) {
		lks_diff_result_free(&r->pairs[i].diff);
	}
	free(r->builds);
	free(r->pairs);
	*r = (struct lks_verify_result){0};
}
