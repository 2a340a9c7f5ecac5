/* Hidden debugging command: lockstep image-cat IMAGE PATH... prints files read out of an
 * image's layers (never extracted), the way apt-resolve --image reads the apt configuration. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "cli/cli.h"
#include "lockstep/cache.h"
#include "lockstep/error.h"
#include "lockstep/imagefs.h"

static const char ic_help[] =
    "usage: lockstep image-cat [options] IMAGE PATH...\n"
    "Print files of IMAGE (a registry reference, best with @sha256:...). PATH is absolute; its\n"
    "last part may be a glob. One exact PATH prints the bare content, otherwise each file\n"
    "follows a '==> PATH <==' line (with '-> TARGET' after symlinks).\n"
    "  --platform OS/ARCH[/VARIANT]   platform of a multi-platform image\n"
    "  --list, --stat                 print 'PATH SIZE RESOLVED' lines instead of contents\n";

struct ic_opts {
	const char *platform;
	bool list, stat;
	const char *args[LKS_IMAGEFS_MAX_REQS + 1];
	int n;
};

static int ic_one(void *opaque, int argc, char **argv, int *i)
{
	struct ic_opts *o = opaque;
	if (!strcmp(argv[*i], "--list") || !strcmp(argv[*i], "--stat")) {
		o->list = true;
		o->stat = true; /* sizes only: no content is kept */
		return 0;
	}
	if (cli_is_opt(argv[*i], "--platform")) {
		o->platform = cli_opt_value(argc, argv, i, "--platform");
		return o->platform ? 0 : -1;
	}
	if (argv[*i][0] == '-' && argv[*i][1]) {
		fprintf(stderr, "lockstep: unknown option '%s'\n", argv[*i]);
		return -1;
	}
	if (o->n > LKS_IMAGEFS_MAX_REQS) {
		fprintf(stderr, "lockstep: too many paths\n");
		return -1;
	}
	o->args[o->n++] = argv[*i];
	return 0;
}

static void print_files(const struct ic_opts *o, const struct lks_imagefs *fs)
{
	bool bare = !o->list && o->n == 2 && !strpbrk(o->args[1], "*?[");
	for (size_t i = 0; i < fs->n; i++) {
		const struct lks_imagefs_file *f = &fs->v[i];
		bool linked = strcmp(f->path, f->resolved) != 0;
		if (o->list) {
			printf("%s %zu %s\n", f->path, f->len, f->resolved);
			continue;
		}
		if (!bare) {
			printf("==> %s%s%s <==\n", f->path, linked ? " -> " : "",
			       linked ? f->resolved : "");
		}
		fwrite(f->data, 1, f->len, stdout);
	}
}

int cmd_image_cat(struct lks_ctx *ctx, int argc, char **argv)
{
	struct ic_opts o = {0};
	int rc = cli_parse_args(ctx, argc, argv, ic_help, ic_one, &o);
	if (rc != 0) {
		return rc > 0 ? EXIT_OK : EXIT_ERROR;
	}
	if (o.n < 2) {
		fputs(ic_help, stderr);
		return EXIT_ERROR;
	}
	struct lks_imagefs_req reqs[LKS_IMAGEFS_MAX_REQS];
	for (int i = 1; i < o.n; i++) {
		reqs[i - 1] = (struct lks_imagefs_req){o.args[i], o.stat};
	}
	struct lks_imagefs_opts opts = {.cache_get = lks_cache_get, .cache_put = lks_cache_put};
	struct lks_imagefs fs;
	rc = lks_imagefs_read(ctx, o.args[0], o.platform, reqs, (size_t)o.n - 1, &opts, &fs);
	if (rc < 0) {
		return cli_fail(ctx, rc);
	}
	print_files(&o, &fs);
	int status = fs.n ? EXIT_OK : EXIT_FINDINGS;
	if (!fs.n) {
		fprintf(stderr, "lockstep: no such file in '%s'\n", o.args[0]);
	}
	lks_imagefs_free(&fs);
	return status;
}
