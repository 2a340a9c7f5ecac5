/* Mapping layers to build steps, and the curated list of known non-determinism. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "verifier/explain.h"
#include "lockstep/json.h"
#include "verifier/normalize.h"

#define DOCKERFILE_MAX ((size_t)1 << 20)
#define DOCKERFILE_MAX_STEPS 4096

static const struct lks_noise noise[] = {
    {"var/log/dpkg.log", "apt", "dpkg log, timestamps", "remove /var/log/dpkg.log in the same RUN"},
    {"var/log/apt/*", "apt", "apt logs, timestamps", "rm -rf /var/log/apt/* in the same RUN"},
    {"var/log/alternatives.log", "apt", "update-alternatives log, timestamps",
     "remove /var/log/alternatives.log in the same RUN"},
    {"var/cache/apt/*.bin", "apt", "apt cache, remove in the same RUN",
     "apt-get clean (or rm /var/cache/apt/*.bin) in the same RUN"},
    {"var/cache/apt/*", "apt", "apt cache", "apt-get clean in the same RUN"},
    {"var/lib/apt/lists/*", "apt", "apt lists, fetched at build time",
     "rm -rf /var/lib/apt/lists/* in the same RUN"},
    {"var/cache/debconf/*-old", "apt", "debconf backup files",
     "remove /var/cache/debconf/*-old in the same RUN"},
    {"var/lib/dpkg/*-old", "apt", "dpkg backup files",
     "remove /var/lib/dpkg/*-old in the same RUN"},
    {"var/cache/ldconfig/aux-cache", "ldconfig", "ldconfig aux-cache records file mtimes",
     "rm /var/cache/ldconfig/aux-cache in the same RUN"},
    {"*.pyc", "python", ".pyc embeds source mtime",
     "use SOURCE_DATE_EPOCH or --check-hash-based-pycs"},
    {"*.dist-info/RECORD", "python", "pip RECORD lists generated files and their hashes",
     "install with --no-compile or make the .pyc files reproducible"},
    {"root/.cache/*", "python", "tool caches in $HOME (pip, ...)",
     "pip --no-cache-dir, or remove ~/.cache in the same RUN"},
    {"etc/shadow", "shadow", "/etc/shadow last-change day depends on the build date",
     "set SOURCE_DATE_EPOCH (useradd honours it) or fix the lastchg field"},
    {"etc/shadow-", "shadow", "/etc/shadow backup, last-change day",
     "remove /etc/shadow- in the same RUN"},
    {"etc/machine-id", "machine-id", "machine-id generated at build time",
     "truncate /etc/machine-id to an empty file"},
    {"var/lib/dbus/machine-id", "machine-id", "machine-id generated at build time",
     "remove it or link it to /etc/machine-id"},
    {"var/cache/fontconfig/*", "fontconfig", "fontconfig cache embeds directory mtimes",
     "rm -rf /var/cache/fontconfig/* in the same RUN"},
    {"tmp/*", "tmp", "leftovers in /tmp", "clean /tmp in the same RUN"},
    {"var/tmp/*", "tmp", "leftovers in /var/tmp", "clean /var/tmp in the same RUN"},
};

const struct lks_noise *lks_explain_table(size_t *n)
{
	*n = ARRAY_SIZE(noise);
	return noise;
}

const struct lks_noise *lks_explain_path(const char *path)
{
	for (size_t i = 0; i < ARRAY_SIZE(noise); i++) {
		if (lks_norm_glob_match(noise[i].glob, path)) {
			return &noise[i];
		}
	}
	return NULL;
}

int lks_explain_history(const json_t *config, size_t layer, const char **created_by)
{
	json_t *hist = json_object_get(config, "history");
	*created_by = NULL;
	if (!json_is_array(hist)) {
		return -1;
	}
	size_t i;
	json_t *h;
	size_t k = 0;
	json_array_foreach(hist, i, h)
	{
		if (json_is_true(json_object_get(h, "empty_layer"))) {
			continue;
		}
		if (k++ == layer) {
			*created_by = lks_json_str(h, "created_by");
			return (int)i;
		}
	}
	return -1;
}

void lks_explain_dockerfile_free(struct lks_dockerfile_step *steps, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(steps[i].keyword);
		free(steps[i].text);
	}
	free(steps);
}

static int add_step(struct lks_dockerfile_step **steps, size_t *n, int line, const char *text)
{
	while (isspace((unsigned char)*text)) {
		text++;
	}
	if (!*text || *text == '#') {
		return 0;
	}
	if (*n >= DOCKERFILE_MAX_STEPS) {
		return -LKS_E_TOOBIG;
	}
	struct lks_dockerfile_step *v = realloc(*steps, (*n + 1) * sizeof(*v));
	if (!v) {
		return -ENOMEM;
	}
	*steps = v;
	size_t kw = strcspn(text, " \t");
	struct lks_dockerfile_step *s = &v[*n];
	s->line = line;
	s->keyword = strndup(text, kw);
	s->text = strdup(text);
	if (!s->keyword || !s->text) {
		free(s->keyword);
		free(s->text);
		return -ENOMEM;
	}
	for (char *p = s->keyword; *p; p++) {
		*p = (char)toupper((unsigned char)*p);
	}
	(*n)++;
	return 0;
}

/* Join continuation lines (a trailing backslash); comment lines inside are dropped. */
static int parse_steps(const char *data, struct lks_dockerfile_step **steps, size_t *n)
{
	struct lks_buf cur;
	lks_buf_init(&cur, DOCKERFILE_MAX);
	int start = 0, line = 0, rc = 0;
	for (const char *p = data; *p && rc == 0;) {
		size_t len = strcspn(p, "\n");
		line++;
		const char *l = p;
		p += len + (p[len] == '\n');
		while (len && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t')) {
			len--;
		}
		bool cont = len && l[len - 1] == '\\';
		size_t lead = strspn(l, " \t");
		if (cur.len && (lead >= len || l[lead] == '#')) {
			continue; /* comments and blank lines inside a continuation are dropped */
		}
		if (!cur.len) {
			start = line;
		}
		rc = lks_buf_append(&cur, l, cont ? len - 1 : len);
		if (rc == 0 && !cont) {
			rc = add_step(steps, n, start, cur.data ? cur.data : "");
			lks_buf_reset(&cur);
		}
	}
	if (rc == 0 && cur.len) {
		rc = add_step(steps, n, start, cur.data);
	}
	lks_buf_free(&cur);
	return rc;
}

int lks_explain_dockerfile_load(struct lks_ctx *ctx, const char *path,
                                struct lks_dockerfile_step **steps, size_t *n)
{
	struct lks_buf b;
	lks_buf_init(&b, DOCKERFILE_MAX);
	*steps = NULL;
	*n = 0;
	int rc = lks_buf_read_file(&b, path);
	if (rc < 0) {
		lks_buf_free(&b);
		return lks_err(ctx, rc, "cannot read Dockerfile '%s': %s", path, lks_strerror(rc));
	}
	rc = parse_steps(b.data ? b.data : "", steps, n);
	lks_buf_free(&b);
	if (rc < 0) {
		lks_explain_dockerfile_free(*steps, *n);
		*steps = NULL;
		*n = 0;
		return lks_err(ctx, rc, "cannot parse Dockerfile '%s': %s", path, lks_strerror(rc));
	}
	return 0;
}

/* Collapse runs of blanks so "RUN  a \\\n  && b" matches "a && b". */
static void squeeze(const char *in, char *out, size_t cap)
{
	size_t w = 0;
	bool sp = false;
	for (; *in && w + 1 < cap; in++) {
		if (isspace((unsigned char)*in)) {
			sp = w > 0;
			continue;
		}
		if (sp && w + 2 < cap) {
			out[w++] = ' ';
		}
		sp = false;
		out[w++] = *in;
	}
	out[w] = '\0';
}

static bool step_matches(const struct lks_dockerfile_step *s, const char *cb)
{
	const char *args = s->text + strlen(s->keyword);
	char want[4096], have[4096];
	squeeze(args, want, sizeof(want));
	squeeze(cb, have, sizeof(have));
	bool nop = strstr(have, "#(nop)") != NULL;
	if (!strcmp(s->keyword, "RUN")) {
		return !nop && *want && strstr(have, want);
	}
	if (!strcmp(s->keyword, "COPY") || !strcmp(s->keyword, "ADD")) {
		const char *dest = strrchr(want, ' ');
		dest = dest ? dest + 1 : want;
		return strstr(have, s->keyword) && *dest && strstr(have, dest);
	}
	return strstr(have, s->keyword) && strstr(have, want);
}

int lks_explain_dockerfile_match(const struct lks_dockerfile_step *steps, size_t n,
                                 const char *created_by, size_t *from)
{
	if (!created_by) {
		return -1;
	}
	for (size_t i = *from; i < n; i++) {
		if (step_matches(&steps[i], created_by)) {
			*from = i + 1;
			return (int)i;
		}
	}
	return -1;
}
