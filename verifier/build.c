/* Builder drivers: turn a build request into the commands that build it from scratch. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "verifier/build.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "verifier/spawn.h"
#include "verifier/tree.h"

#define TEMPLATE_MAX 65536

void lks_build_cmd_init(struct lks_build_cmd *c)
{
	*c = (struct lks_build_cmd){0};
}

void lks_build_cmd_free(struct lks_build_cmd *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->argv[i]);
	}
	free(c->argv);
	lks_build_cmd_init(c);
}

int lks_build_cmd_push(struct lks_build_cmd *c, const char *s)
{
	if (c->n + 2 > c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 16;
		char **v = realloc(c->argv, cap * sizeof(*v));
		if (!v) {
			return -ENOMEM;
		}
		c->argv = v;
		c->cap = cap;
	}
	if (!(c->argv[c->n] = strdup(s))) {
		return -ENOMEM;
	}
	c->argv[++c->n] = NULL;
	return 0;
}

/* Push every string of a NULL-terminated list. */
static int push_all(struct lks_build_cmd *c, const char *const *v)
{
	int rc = 0;
	for (size_t i = 0; v[i] && rc == 0; i++) {
		rc = lks_build_cmd_push(c, v[i]);
	}
	return rc;
}

static int push_opt(struct lks_build_cmd *c, const char *opt, const char *v)
{
	if (!v) {
		return 0;
	}
	int rc = lks_build_cmd_push(c, opt);
	return rc < 0 ? rc : lks_build_cmd_push(c, v);
}

static int push_common(struct lks_build_cmd *c, const struct lks_build_req *r)
{
	int rc = push_opt(c, "-f", r->dockerfile);
	for (size_t i = 0; i < r->n_build_args && rc == 0; i++) {
		rc = push_opt(c, "--build-arg", r->build_args[i]);
	}
	if (rc == 0) {
		rc = push_opt(c, "--target", r->target);
	}
	return rc == 0 ? push_opt(c, "--platform", r->platform) : rc;
}

/* buildah and podman share their storage flags and image export. */
static int containers_plan(const char *prog, const struct lks_build_req *r,
                           struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n)
{
	char root[4096], run[4096], epoch[32], dest[4200];
	snprintf(root, sizeof(root), "%s/root", r->work);
	snprintf(run, sizeof(run), "%s/run", r->work);
	snprintf(epoch, sizeof(epoch), "%lld", r->epoch);
	snprintf(dest, sizeof(dest), "oci:%s:latest", r->out);
	const char *driver = r->storage ? r->storage : "vfs";
	bool conf = r->registries_conf && !strcmp(prog, "buildah");
	const char *const store[] = {prog,
	                             "--storage-driver",
	                             driver,
	                             "--root",
	                             root,
	                             "--runroot",
	                             run,
	                             conf ? "--registries-conf" : NULL,
	                             r->registries_conf,
	                             "--registries-conf-dir",
	                             r->registries_conf_dir,
	                             NULL};
	lks_build_cmd_init(&cmds[0]);
	lks_build_cmd_init(&cmds[1]);
	*n = 2;
	int rc = push_all(&cmds[0], store);
	/* --layers (podman's default): one layer per step, so a difference names its line */
	const char *const bud[] = {!strcmp(prog, "buildah") ? "bud" : "build",
	                           "--no-cache",
	                           "--layers",
	                           "--isolation",
	                           r->isolation ? r->isolation : "chroot",
	                           "--timestamp",
	                           epoch,
	                           "-t",
	                           r->tag,
	                           NULL};
	rc = rc ? rc : push_all(&cmds[0], bud);
	rc = rc ? rc : push_common(&cmds[0], r);
	if (rc == 0 && r->tls_verify_off) {
		rc = lks_build_cmd_push(&cmds[0], "--tls-verify=false");
	}
	rc = rc ? rc : lks_build_cmd_push(&cmds[0], r->context);
	const char *const push[] = {"push", r->tag, dest, NULL};
	rc = rc ? rc : push_all(&cmds[1], store);
	return rc ? rc : push_all(&cmds[1], push);
}

static int buildah_plan(struct lks_ctx *ctx, const struct lks_build_req *r,
                        struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n)
{
	return containers_plan("buildah", r, cmds, n);
}

static int podman_plan(struct lks_ctx *ctx, const struct lks_build_req *r,
                       struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n)
{
	return containers_plan("podman", r, cmds, n);
}

/* BuildKit: SOURCE_DATE_EPOCH as a build argument, rewrite-timestamp clamps file times. */
static int docker_plan(struct lks_ctx *ctx, const struct lks_build_req *r,
                       struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n)
{
	char output[4200], sde[64];
	snprintf(output, sizeof(output), "type=oci,dest=%s,tar=false,rewrite-timestamp=true",
	         r->out);
	snprintf(sde, sizeof(sde), "SOURCE_DATE_EPOCH=%lld", r->epoch);
	lks_build_cmd_init(&cmds[0]);
	*n = 1;
	const char *const head[] = {"docker", "buildx",      "build", "--no-cache", "--output",
	                            output,   "--build-arg", sde,     NULL};
	int rc = push_all(&cmds[0], head);
	rc = rc ? rc : push_common(&cmds[0], r);
	return rc ? rc : lks_build_cmd_push(&cmds[0], r->context);
}

static int command_plan(struct lks_ctx *ctx, const struct lks_build_req *r,
                        struct lks_build_cmd cmds[LKS_BUILD_MAX_CMDS], size_t *n)
{
	lks_build_cmd_init(&cmds[0]);
	*n = 1;
	if (!r->template) {
		return lks_err(ctx, -LKS_E_INVAL, "the command builder needs --build-cmd");
	}
	_cleanup_free_ char *sh = NULL;
	int rc = lks_build_template_expand(ctx, r->template, r, &sh);
	const char *const argv[] = {"/bin/sh", "-c", sh, NULL};
	return rc ? rc : push_all(&cmds[0], argv);
}

static const char *const buildah_probe[] = {"buildah", "--version", NULL};
static const char *const podman_probe[] = {"podman", "--version", NULL};
static const char *const docker_probe[] = {"docker", "buildx", "version", NULL};

static const struct lks_builder builders[] = {
    {"buildah", buildah_plan, buildah_probe},
    {"podman", podman_plan, podman_probe},
    {"docker", docker_plan, docker_probe},
    {"command", command_plan, NULL},
};

static const char *const names[] = {"buildah", "podman", "docker", "command", NULL};

const char *const *lks_builder_names(void)
{
	return names;
}

const struct lks_builder *lks_builder_find(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
		if (!strcmp(builders[i].name, name)) {
			return &builders[i];
		}
	}
	return NULL;
}

int lks_build_detect(struct lks_ctx *ctx, const struct lks_builder **out)
{
	for (size_t i = 0; i < ARRAY_SIZE(builders); i++) {
		if (!builders[i].probe) {
			continue;
		}
		struct spawn_opts o = {.argv = (char *const *)builders[i].probe,
		                       .umask = -1,
		                       .log_fd = -1,
		                       .timeout_ms = 20000};
		int status = -1;
		if (spawn_run(ctx, &o, &status) == 0 && status == 0) {
			ctx->err[0] = '\0';
			*out = &builders[i];
			return 0;
		}
	}
	return lks_err(ctx, -LKS_E_NOTFOUND,
	               "no builder found (tried buildah, podman, docker "
	               "buildx): install one, or pass --build-cmd");
}

int lks_build_storage_probe(struct lks_ctx *ctx, const struct lks_builder *b, const char *work,
                            const char **driver)
{
	*driver = NULL;
	if (strcmp(b->name, "buildah") && strcmp(b->name, "podman")) {
		return 0;
	}
	char root[4096], run[4096];
	snprintf(root, sizeof(root), "%s/root", work);
	snprintf(run, sizeof(run), "%s/run", work);
	char *const argv[] = {(char *)b->name,
	                      "--storage-driver",
	                      "overlay",
	                      "--root",
	                      root,
	                      "--runroot",
	                      run,
	                      "info",
	                      NULL};
	struct spawn_opts o = {.argv = argv, .umask = -1, .log_fd = -1, .timeout_ms = 20000};
	int status = -1;
	*driver = spawn_run(ctx, &o, &status) == 0 && status == 0 ? "overlay" : "vfs";
	ctx->err[0] = '\0';
	int rc = tree_unmount(ctx, work);
	return rc ? rc : tree_remove(ctx, work);
}

static int shell_quote(struct lks_buf *b, const char *s)
{
	int rc = lks_buf_putc(b, '\'');
	for (; *s && rc == 0; s++) {
		rc = *s == '\'' ? lks_buf_puts(b, "'\\''") : lks_buf_putc(b, *s);
	}
	return rc ? rc : lks_buf_putc(b, '\'');
}

/* The value of placeholder name[0..len); *known false when there is no such placeholder. */
static const char *placeholder(const struct lks_build_req *r, const char *name, size_t len,
                               char epoch[32], bool *known)
{
	static const char *const keys[] = {"context", "dockerfile", "out",      "tag",
	                                   "epoch",   "work",       "platform", "target"};
	snprintf(epoch, 32, "%lld", r->epoch);
	const char *vals[] = {r->context,
	                      r->dockerfile,
	                      r->out,
	                      r->tag,
	                      epoch,
	                      r->work,
	                      r->platform ? r->platform : "",
	                      r->target ? r->target : ""};
	for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
		if (strlen(keys[i]) == len && !memcmp(keys[i], name, len)) {
			*known = true;
			return vals[i] ? vals[i] : "";
		}
	}
	*known = false;
	return NULL;
}

static int bad_placeholder(struct lks_ctx *ctx, const char *p, size_t len, const char *why)
{
	return lks_err(ctx, -LKS_E_INVAL,
	               "%s '%.*s' in the build command (known: {context} {dockerfile} {out} "
	               "{tag} {epoch} {work} {platform} {target}; '{{' for a literal brace)",
	               why, (int)(len > 64 ? 64 : len), p);
}

/* One "{name}" at *p: appends its quoted value and advances *p past it. */
static int expand_one(struct lks_ctx *ctx, const char **p, const struct lks_build_req *r,
                      struct lks_buf *b, bool *saw_out)
{
	const char *s = *p + 1;
	size_t len = strcspn(s, "{}");
	if (s[len] != '}') {
		return bad_placeholder(ctx, *p, strlen(*p), "unterminated placeholder");
	}
	char epoch[32];
	bool known;
	const char *v = placeholder(r, s, len, epoch, &known);
	if (!known) {
		return bad_placeholder(ctx, *p, len + 2, "unknown placeholder");
	}
	*saw_out |= len == 3 && !memcmp(s, "out", 3);
	*p = s + len + 1;
	return shell_quote(b, v);
}

int lks_build_template_expand(struct lks_ctx *ctx, const char *tmpl,
                              const struct lks_build_req *req, char **out)
{
	struct lks_buf b;
	lks_buf_init(&b, TEMPLATE_MAX);
	bool saw_out = false;
	int rc = 0;
	for (const char *p = tmpl; *p && rc == 0;) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			rc = lks_buf_putc(&b, *p);
			p += 2;
		} else if (*p == '{') {
			rc = expand_one(ctx, &p, req, &b, &saw_out);
		} else if (*p == '}') {
			rc = bad_placeholder(ctx, p, 1, "unmatched brace");
		} else {
			rc = lks_buf_putc(&b, *p++);
		}
	}
	if (rc == 0 && !saw_out) {
		rc = lks_err(ctx, -LKS_E_INVAL, "the build command must write the image to {out}");
	}
	if (rc == -LKS_E_TOOBIG) {
		rc = lks_err(ctx, rc, "the build command is longer than %d bytes", TEMPLATE_MAX);
	}
	*out = rc == 0 ? lks_buf_detach(&b) : NULL;
	lks_buf_free(&b);
	return rc;
}
