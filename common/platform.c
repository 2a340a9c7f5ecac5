/* Target platforms: parsing with containerd's normalisation, formatting, lists. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/platform.h"

#define PLAT_CHARS "abcdefghijklmnopqrstuvwxyz0123456789_.-"

struct alias {
	const char *from, *arch, *variant; /* variant NULL: keep the one given */
};

static const struct alias aliases[] = {
    {"x86_64", "amd64", NULL}, {"x86-64", "amd64", NULL}, {"aarch64", "arm64", NULL},
    {"armhf", "arm", "v7"},    {"armel", "arm", "v6"},    {"i386", "386", ""},
    {"i486", "386", ""},       {"i586", "386", ""},       {"i686", "386", ""},
};

static int bad(struct lks_ctx *ctx, const char *s, const char *why)
{
	if (!ctx) {
		return -LKS_E_INVAL;
	}
	return lks_err(ctx, -LKS_E_INVAL,
	               "invalid platform '%.200s': %s (e.g. linux/amd64, "
	               "linux/arm/v7)",
	               s, why);
}

/* Split s into lowercase parts; returns the number of parts or -1. */
static int split(const char *s, char parts[3][LKS_PLATFORM_PART])
{
	int k = 0;
	size_t n = 0;
	memset(parts, 0, 3 * LKS_PLATFORM_PART);
	for (const char *c = s;; c++) {
		if (*c == '/' || !*c) {
			if (n == 0 || k == 3) {
				return -1;
			}
			k++;
			n = 0;
			if (!*c) {
				return k;
			}
			continue;
		}
		char l = (char)tolower((unsigned char)*c);
		if (k == 3 || n + 1 >= LKS_PLATFORM_PART || !strchr(PLAT_CHARS, l) || !l) {
			return -1;
		}
		parts[k][n++] = l;
	}
}

static void normalise_variant(struct lks_platform *p)
{
	char *v = p->variant;
	if (!strcmp(p->arch, "arm64") &&
	    (!strcmp(v, "v8") || !strcmp(v, "8") || !strcmp(v, "v8.0"))) {
		v[0] = '\0';
	} else if (!strcmp(p->arch, "arm")) {
		if (!*v || !strcmp(v, "7")) {
			strcpy(v, "v7");
		} else if (strlen(v) == 1 && strchr("568", v[0])) {
			char d = v[0];
			snprintf(v, LKS_PLATFORM_PART, "v%c", d);
		}
	} else if (!strcmp(p->arch, "amd64") && !strcmp(v, "v1")) {
		v[0] = '\0';
	}
}

int lks_platform_parse(struct lks_ctx *ctx, const char *s, struct lks_platform *p)
{
	char parts[3][LKS_PLATFORM_PART];
	memset(p, 0, sizeof(*p));
	int k = split(s, parts);
	if (k < 2) {
		return bad(ctx, s, "expected OS/ARCH[/VARIANT]");
	}
	strcpy(p->os, !strcmp(parts[0], "macos") ? "darwin" : parts[0]);
	strcpy(p->arch, parts[1]);
	strcpy(p->variant, k == 3 ? parts[2] : "");
	for (size_t i = 0; i < sizeof(aliases) / sizeof(aliases[0]); i++) {
		if (!strcmp(p->arch, aliases[i].from)) {
			strcpy(p->arch, aliases[i].arch);
			if (aliases[i].variant && (!*p->variant || *aliases[i].variant)) {
				strcpy(p->variant, aliases[i].variant);
			}
			break;
		}
	}
	normalise_variant(p);
	return 0;
}

const char *lks_platform_format(const struct lks_platform *p, char *buf)
{
	snprintf(buf, LKS_PLATFORM_TEXT, "%s/%s%s%s", p->os, p->arch, *p->variant ? "/" : "",
	         p->variant);
	return buf;
}

bool lks_platform_equal(const struct lks_platform *a, const struct lks_platform *b)
{
	return !strcmp(a->os, b->os) && !strcmp(a->arch, b->arch) &&
	       !strcmp(a->variant, b->variant);
}

int lks_platforms_find(const struct lks_platforms *l, const struct lks_platform *p)
{
	for (size_t i = 0; i < l->n; i++) {
		if (lks_platform_equal(&l->v[i], p)) {
			return (int)i;
		}
	}
	return -1;
}

/* One item of a list: s[0..n) without surrounding blanks. */
static int add_item(struct lks_ctx *ctx, struct lks_platforms *l, const char *s, size_t n)
{
	char item[LKS_PLATFORM_TEXT + 2];
	while (n && isblank((unsigned char)*s)) {
		s++, n--;
	}
	while (n && isblank((unsigned char)s[n - 1])) {
		n--;
	}
	if (n == 0 || n >= sizeof(item)) {
		snprintf(item, sizeof(item), "%.*s", (int)(n < sizeof(item) ? n : sizeof(item) - 1),
		         s);
		return bad(ctx, item, n ? "too long" : "empty");
	}
	memcpy(item, s, n);
	item[n] = '\0';
	struct lks_platform p;
	int rc = lks_platform_parse(ctx, item, &p);
	if (rc < 0 || lks_platforms_find(l, &p) >= 0) {
		return rc;
	}
	if (l->n == LKS_PLATFORMS_MAX) {
		return ctx ? lks_err(ctx, -LKS_E_TOOBIG, "more than %d platforms",
		                     LKS_PLATFORMS_MAX)
		           : -LKS_E_TOOBIG;
	}
	l->v[l->n++] = p;
	return 0;
}

int lks_platforms_add(struct lks_ctx *ctx, struct lks_platforms *l, const char *csv)
{
	const char *c = csv;
	for (;;) {
		const char *e = strchr(c, ',');
		size_t n = e ? (size_t)(e - c) : strlen(c);
		int rc = add_item(ctx, l, c, n);
		if (rc < 0 || !e) {
			return rc;
		}
		c = e + 1;
	}
}

const char *lks_platforms_format(const struct lks_platforms *l, char *buf, size_t len)
{
	size_t w = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < l->n && w < len; i++) {
		char t[LKS_PLATFORM_TEXT];
		int r = snprintf(buf + w, len - w, "%s%s", i ? ", " : "",
		                 lks_platform_format(&l->v[i], t));
		w += r > 0 ? (size_t)r : 0;
	}
	return buf;
}
