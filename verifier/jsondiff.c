/* Structural JSON comparison with paths like "history[3].created". */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/normalize.h"
#include "verifier/jsondiff.h"

void jsondiff_free_items(struct lks_json_diff *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].path);
		free(v[i].a);
		free(v[i].b);
	}
	free(v);
}

/* Layer digests, sizes and diff_ids mirror the layer comparison: reported, not counted. */
static bool is_derived(const struct jsondiff *d, const char *path)
{
	for (const char *const *p = d->derived; p && *p; p++) {
		size_t n = strlen(*p);
		if (strncmp(path, *p, n)) {
			continue;
		}
		const char *rest = path + n;
		const char *dot = strrchr(rest, '.');
		if (!*rest || (rest[0] == '[' && !dot)) {
			return true;
		}
		if (dot && (!strcmp(dot, ".digest") || !strcmp(dot, ".size"))) {
			return true;
		}
	}
	return false;
}

/* Docker records the build args a RUN used as "|N K=V ... cmd" in created_by. */
static const char *cause_of(const char *path, const char *a, const char *b)
{
	size_t n = strlen(path);
	bool cb = n >= 10 && !strcmp(path + n - 10, "created_by");
	if (cb && ((a && !strncmp(a, "\"|", 2)) || (b && !strncmp(b, "\"|", 2)))) {
		return "build-arg leakage: RUN records its ARG values in history; do not pass "
		       "values that change per build (dates, CI ids) as build args";
	}
	return NULL;
}

static int add(struct jsondiff *d, const char *path, const json_t *a, const json_t *b)
{
	if (d->n >= LKS_DIFF_MAX_CONFIG) {
		return 0;
	}
	if (d->n % 16 == 0) {
		void *p = realloc(d->v, (d->n + 16) * sizeof(*d->v));
		if (!p) {
			return -ENOMEM;
		}
		d->v = p;
	}
	struct lks_json_diff *x = &d->v[d->n++];
	memset(x, 0, sizeof(*x));
	x->path = strdup(path);
	x->a = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
	x->b = b ? json_dumps(b, JSON_COMPACT | JSON_ENCODE_ANY | JSON_SORT_KEYS) : NULL;
	x->normalized = lks_norm_json_path(d->opts, path);
	x->derived = is_derived(d, path);
	x->cause = cause_of(path, x->a, x->b);
	return x->path ? 0 : -ENOMEM;
}

static int walk(struct jsondiff *d, const json_t *a, const json_t *b, char *path, size_t cap);

static int child(struct jsondiff *d, const json_t *a, const json_t *b, char *path, size_t cap,
                 const char *key, size_t idx)
{
	size_t len = strlen(path);
	int w = key ? snprintf(path + len, cap - len, "%s%s", len ? "." : "", key)
	            : snprintf(path + len, cap - len, "[%zu]", idx);
	if (w < 0 || (size_t)w >= cap - len) {
		path[len] = '\0';
		return add(d, path, a, b); /* too deep to name: report the parent */
	}
	int rc = walk(d, a, b, path, cap);
	path[len] = '\0';
	return rc;
}

static int walk_object(struct jsondiff *d, const json_t *a, const json_t *b, char *path, size_t cap)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)a, k, v)
	{
		int rc = child(d, v, json_object_get(b, k), path, cap, k, 0);
		if (rc < 0) {
			return rc;
		}
	}
	json_object_foreach((json_t *)b, k, v)
	{
		if (!json_object_get(a, k)) {
			int rc = child(d, NULL, v, path, cap, k, 0);
			if (rc < 0) {
				return rc;
			}
		}
	}
	return 0;
}

static int walk(struct jsondiff *d, const json_t *a, const json_t *b, char *path, size_t cap)
{
	if (a && b && json_equal((json_t *)a, (json_t *)b)) {
		return 0;
	}
	/* An object on one side only is reported key by key (each annotation, each label). */
	if ((json_is_object(a) || !a) && (json_is_object(b) || !b) &&
	    json_object_size(a ? a : b) > 0) {
		return walk_object(d, a, b, path, cap);
	}
	if (json_is_array(a) && json_is_array(b)) {
		size_t na = json_array_size(a), nb = json_array_size(b);
		for (size_t i = 0; i < (na > nb ? na : nb); i++) {
			int rc = child(d, json_array_get(a, i), json_array_get(b, i), path, cap,
			               NULL, i);
			if (rc < 0) {
				return rc;
			}
		}
		return 0;
	}
	return add(d, path, a, b);
}

int jsondiff_run(struct jsondiff *d, const json_t *a, const json_t *b, const char *root)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s", root);
	return walk(d, a, b, path, sizeof(path));
}
