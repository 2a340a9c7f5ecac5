/* Package index pages (PEP 503 HTML, PEP 691 JSON); see pinner/python/pyindex.h. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "pinner/python/pyindex.h"

void lks_pyproject_init(struct lks_pyproject *p)
{
	p->files = NULL;
	p->n = 0;
}

static void file_free(struct lks_pyfile *f)
{
	free(f->filename);
	free(f->url);
	free(f->requires_python);
	free(f->yanked_reason);
}

void lks_pyproject_free(struct lks_pyproject *p)
{
	for (size_t k = 0; k < p->n; k++) {
		file_free(&p->files[k]);
	}
	free(p->files);
	lks_pyproject_init(p);
}

/* ---- URLs ---- */

static size_t scheme_len(const char *s)
{
	size_t k = 0;
	if (!isalpha((unsigned char)s[0])) {
		return 0;
	}
	while (isalnum((unsigned char)s[k]) || s[k] == '+' || s[k] == '-' || s[k] == '.') {
		k++;
	}
	return s[k] == ':' ? k : 0;
}

/* Append path to out with "." and ".." segments removed (RFC 3986 5.2.4). */
static int put_path(struct lks_buf *out, const char *path, size_t n)
{
	size_t root = out->len;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0;) {
		size_t e = i + 1;
		while (e < n && path[e] != '/') {
			e++;
		}
		/* segment is path[i..e) including its leading '/' */
		size_t sl = e - i;
		bool last = e >= n;
		if ((sl == 2 && path[i + 1] == '.') || (sl == 3 && !memcmp(path + i, "/..", 3))) {
			if (sl == 3) {
				while (out->len > root && out->data[out->len - 1] != '/') {
					out->len--;
				}
				if (out->len > root) {
					out->len--;
				}
			}
			rc = last ? lks_buf_putc(out, '/') : 0;
		} else {
			rc = lks_buf_append(out, path + i, sl);
		}
		if (out->data) {
			out->data[out->len] = '\0';
		}
		i = e;
	}
	return rc;
}

static int join_into(struct lks_buf *out, const char *base, const char *ref)
{
	size_t sl = scheme_len(ref);
	if (sl) {
		return lks_buf_puts(out, ref);
	}
	sl = scheme_len(base);
	const char *auth = base + sl + 1;
	const char *path = auth;
	if (!strncmp(auth, "//", 2)) {
		path = auth + 2 + strcspn(auth + 2, "/?#");
	}
	if (!strncmp(ref, "//", 2)) {
		return lks_buf_printf(out, "%.*s%s", (int)(sl + 1), base, ref);
	}
	int rc = lks_buf_append(out, base, (size_t)(path - base));
	size_t plen = strcspn(path, "?#");
	size_t rpl = strcspn(ref, "?#");
	if (rc == 0 && ref[0] == '/') {
		rc = put_path(out, ref, rpl);
	} else if (rc == 0 && rpl == 0) {
		rc = lks_buf_append(out, path, plen);
	} else if (rc == 0) {
		size_t dir = plen;
		while (dir && path[dir - 1] != '/') {
			dir--;
		}
		struct lks_buf merged;
		lks_buf_init(&merged, 1 << 16);
		rc = lks_buf_append(&merged, path, dir);
		rc = rc ? rc : (dir ? 0 : lks_buf_putc(&merged, '/'));
		rc = rc ? rc : lks_buf_append(&merged, ref, rpl);
		rc = rc ? rc : put_path(out, merged.data, merged.len);
		lks_buf_free(&merged);
	}
	return rc ? rc : lks_buf_puts(out, ref + rpl);
}

char *lks_pyindex_join_url(const char *base, const char *ref)
{
	struct lks_buf out;
	lks_buf_init(&out, 1 << 16);
	if (join_into(&out, base, ref) < 0) {
		lks_buf_free(&out);
		return NULL;
	}
	return lks_buf_detach(&out);
}

/* ---- files ---- */

static bool hex64(const char *s, size_t n)
{
	if (n != 64) {
		return false;
	}
	for (size_t k = 0; k < n; k++) {
		if (!isxdigit((unsigned char)s[k])) {
			return false;
		}
	}
	return true;
}

static void set_hex(char dst[65], const char *s)
{
	for (size_t k = 0; k < 64; k++) {
		dst[k] = (char)tolower((unsigned char)s[k]);
	}
	dst[64] = '\0';
}

static int hexval(char c)
{
	return isdigit((unsigned char)c) ? c - '0' : (tolower((unsigned char)c) - 'a' + 10);
}

/* Last path segment of an absolute URL, percent-decoded. */
static char *url_filename(const char *url)
{
	size_t end = strcspn(url, "?#");
	size_t start = end;
	while (start && url[start - 1] != '/') {
		start--;
	}
	char *out = malloc(end - start + 1);
	if (!out) {
		return NULL;
	}
	size_t l = 0;
	for (size_t k = start; k < end; k++) {
		if (url[k] == '%' && k + 2 < end && isxdigit((unsigned char)url[k + 1]) &&
		    isxdigit((unsigned char)url[k + 2])) {
			out[l++] = (char)(hexval(url[k + 1]) * 16 + hexval(url[k + 2]));
			k += 2;
		} else {
			out[l++] = url[k];
		}
	}
	out[l] = '\0';
	return out;
}

/* Append a file for href (fragment "#sha256=<hex>" taken as its hash). */
static int add_file(struct lks_ctx *ctx, struct lks_pyproject *p, const char *page_url,
                    const char *href, struct lks_pyfile **out)
{
	if (p->n >= LKS_PYINDEX_MAX_FILES) {
		return lks_err(ctx, -LKS_E_TOOBIG, "index page lists more than %d files",
		               LKS_PYINDEX_MAX_FILES);
	}
	struct lks_pyfile *files = realloc(p->files, (p->n + 1) * sizeof(*files));
	if (!files) {
		return -ENOMEM;
	}
	p->files = files;
	struct lks_pyfile *f = &files[p->n];
	memset(f, 0, sizeof(*f));
	_cleanup_free_ char *ref = strndup(href, strcspn(href, "#"));
	const char *frag = strchr(href, '#');
	if (!ref) {
		return -ENOMEM;
	}
	f->url = lks_pyindex_join_url(page_url, ref);
	f->filename = f->url ? url_filename(f->url) : NULL;
	if (!f->filename) {
		file_free(f);
		return -ENOMEM;
	}
	p->n++;
	if (frag && !strncmp(frag, "#sha256=", 8)) {
		if (!hex64(frag + 8, strlen(frag + 8))) {
			return lks_err(ctx, -LKS_E_PARSE, "malformed sha256 in link '%.200s'",
			               href);
		}
		set_hex(f->sha256, frag + 8);
	}
	*out = f;
	return 0;
}

/* ---- HTML (PEP 503) ---- */

static int decode_entities(const char *s, size_t n, char **out)
{
	static const struct {
		const char *name;
		char c;
	} named[] = {{"amp;", '&'}, {"lt;", '<'}, {"gt;", '>'}, {"quot;", '"'}, {"apos;", '\''}};
	struct lks_buf b;
	lks_buf_init(&b, 1 << 16);
	int rc = lks_buf_append(&b, "", 0);
	for (size_t i = 0; i < n && rc == 0; i++) {
		char c = s[i];
		size_t used = 0;
		for (size_t k = 0; c == '&' && !used && k < ARRAY_SIZE(named); k++) {
			size_t l = strlen(named[k].name);
			if (n - i - 1 >= l && !memcmp(s + i + 1, named[k].name, l)) {
				c = named[k].c;
				used = l;
			}
		}
		if (c == '&' && !used && i + 2 < n && s[i + 1] == '#') {
			bool hex = s[i + 2] == 'x' || s[i + 2] == 'X';
			size_t j = i + 2 + hex;
			unsigned long v = 0;
			while (
			    j < n && j - i < 10 &&
			    (hex ? isxdigit((unsigned char)s[j]) : isdigit((unsigned char)s[j]))) {
				v = v * (hex ? 16 : 10) + (unsigned long)hexval(s[j]);
				j++;
			}
			if (j < n && s[j] == ';' && v > 0 && v < 128) {
				c = (char)v;
				used = j - i;
			}
		}
		rc = lks_buf_putc(&b, c);
		i += used;
	}
	if (rc < 0) {
		lks_buf_free(&b);
		return rc;
	}
	*out = lks_buf_detach(&b);
	return 0;
}

struct attr {
	const char *name, *val;
	size_t nlen, vlen;
	bool has_val;
};

/* Read one attribute at s[*i]; returns false at '>' or the end. */
static bool next_attr(const char *s, size_t n, size_t *i, struct attr *a)
{
	while (*i < n && (isspace((unsigned char)s[*i]) || s[*i] == '/')) {
		(*i)++;
	}
	if (*i >= n || s[*i] == '>') {
		return false;
	}
	memset(a, 0, sizeof(*a));
	a->name = s + *i;
	while (*i < n && !isspace((unsigned char)s[*i]) && s[*i] != '=' && s[*i] != '>') {
		(*i)++;
	}
	a->nlen = (size_t)(s + *i - a->name);
	while (*i < n && isspace((unsigned char)s[*i])) {
		(*i)++;
	}
	if (*i >= n || s[*i] != '=') {
		return true;
	}
	(*i)++;
	while (*i < n && isspace((unsigned char)s[*i])) {
		(*i)++;
	}
	a->has_val = true;
	char q = *i < n && (s[*i] == '"' || s[*i] == '\'') ? s[(*i)++] : 0;
	a->val = s + *i;
	while (*i < n && (q ? s[*i] != q : !isspace((unsigned char)s[*i]) && s[*i] != '>')) {
		(*i)++;
	}
	a->vlen = (size_t)(s + *i - a->val);
	*i += q && *i < n;
	return true;
}

static bool attr_is(const struct attr *a, const char *name)
{
	return a->nlen == strlen(name) && !strncasecmp(a->name, name, a->nlen);
}

/* Metadata attribute: "true" or "sha256=<hex>" means served; "false" or absent means not. */
static void metadata_value(struct lks_pyfile *f, const char *v)
{
	if (!strcasecmp(v, "false")) {
		return;
	}
	f->has_metadata = true;
	if (!strncmp(v, "sha256=", 7) && hex64(v + 7, strlen(v + 7))) {
		set_hex(f->metadata_sha256, v + 7);
	}
}

struct anchor {
	char *href, *requires_python, *yanked, *metadata;
};

static void anchor_free(struct anchor *a)
{
	free(a->href);
	free(a->requires_python);
	free(a->yanked);
	free(a->metadata);
}

static int anchor_attr(struct anchor *an, const struct attr *a)
{
	char **dst = attr_is(a, "href")                                       ? &an->href
	             : attr_is(a, "data-requires-python")                     ? &an->requires_python
	             : attr_is(a, "data-yanked")                              ? &an->yanked
	             : attr_is(a, "data-core-metadata")                       ? &an->metadata
	             : attr_is(a, "data-dist-info-metadata") && !an->metadata ? &an->metadata
	                                                                      : NULL;
	if (!dst) {
		return 0;
	}
	free(*dst);
	*dst = NULL;
	return decode_entities(a->val ? a->val : "", a->vlen, dst);
}

static int anchor_file(struct lks_ctx *ctx, struct lks_pyproject *p, const char *page_url,
                       struct anchor *an)
{
	struct lks_pyfile *f;
	int rc = add_file(ctx, p, page_url, an->href, &f);
	if (rc < 0) {
		return rc;
	}
	if (an->requires_python && an->requires_python[0]) {
		f->requires_python = TAKE_PTR(an->requires_python);
	}
	if (an->yanked) {
		f->yanked = true;
		if (an->yanked[0]) {
			f->yanked_reason = TAKE_PTR(an->yanked);
		}
	}
	if (an->metadata) {
		metadata_value(f, an->metadata);
	}
	return 0;
}

int lks_pyindex_parse_html(struct lks_ctx *ctx, const char *page_url, const char *body, size_t n,
                           struct lks_pyproject *out)
{
	if (n > LKS_PYINDEX_MAX_PAGE) {
		return lks_err(ctx, -LKS_E_TOOBIG, "index page larger than %zu bytes",
		               (size_t)LKS_PYINDEX_MAX_PAGE);
	}
	for (size_t i = 0; i + 2 < n; i++) {
		if (body[i] != '<' || (body[i + 1] != 'a' && body[i + 1] != 'A') ||
		    !(isspace((unsigned char)body[i + 2]) || body[i + 2] == '>')) {
			continue;
		}
		i += 2;
		struct anchor an = {0};
		struct attr a;
		int rc = 0;
		while (rc == 0 && next_attr(body, n, &i, &a)) {
			rc = anchor_attr(&an, &a);
		}
		if (rc == 0 && an.href) {
			rc = anchor_file(ctx, out, page_url, &an);
		}
		anchor_free(&an);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

/* ---- JSON (PEP 691) ---- */

static int json_hash(const json_t *hashes, char dst[65])
{
	const char *h = json_is_object(hashes) ? lks_json_str(hashes, "sha256") : NULL;
	if (!h) {
		return 0;
	}
	if (!hex64(h, strlen(h))) {
		return -LKS_E_PARSE;
	}
	set_hex(dst, h);
	return 0;
}

static int json_file_extra(struct lks_pyfile *f, const json_t *o)
{
	const char *rp = lks_json_str(o, "requires-python");
	if (rp && rp[0] && !(f->requires_python = strdup(rp))) {
		return -ENOMEM;
	}
	const json_t *y = json_object_get(o, "yanked");
	f->yanked = json_is_true(y) || json_is_string(y);
	if (json_is_string(y) && json_string_value(y)[0] &&
	    !(f->yanked_reason = strdup(json_string_value(y)))) {
		return -ENOMEM;
	}
	const char *ut = lks_json_str(o, "upload-time");
	if (ut && lks_parse_time(ut, &f->upload_time) == 0) {
		f->has_upload_time = true;
	}
	const json_t *md = json_object_get(o, "core-metadata");
	if (!md) {
		md = json_object_get(o, "dist-info-metadata");
	}
	f->has_metadata = json_is_true(md) || json_is_object(md);
	return json_is_object(md) ? json_hash(md, f->metadata_sha256) : 0;
}

static int json_file(struct lks_ctx *ctx, struct lks_pyproject *p, const char *page_url,
                     const json_t *o)
{
	const char *url = lks_json_str(o, "url");
	const char *fn = lks_json_str(o, "filename");
	if (!url || !fn || strchr(url, '#')) {
		return lks_err(ctx, -LKS_E_PARSE,
		               "index page '%s': file entry without a valid "
		               "url or filename",
		               page_url);
	}
	struct lks_pyfile *f;
	int rc = add_file(ctx, p, page_url, url, &f);
	if (rc < 0) {
		return rc;
	}
	char *name = strdup(fn);
	if (!name) {
		return -ENOMEM;
	}
	free(f->filename);
	f->filename = name;
	if (strchr(name, '/')) {
		return lks_err(ctx, -LKS_E_UNSAFE,
		               "index page '%s': file name '%.100s' contains "
		               "'/'",
		               page_url, name);
	}
	rc = json_hash(json_object_get(o, "hashes"), f->sha256);
	rc = rc ? rc : json_file_extra(f, o);
	if (rc == -LKS_E_PARSE) {
		return lks_err(ctx, rc, "index page '%s': malformed sha256 for '%.100s'", page_url,
		               name);
	}
	return rc;
}

int lks_pyindex_parse_json(struct lks_ctx *ctx, const char *page_url, const char *body, size_t n,
                           struct lks_pyproject *out)
{
	json_auto_t *root = NULL;
	int rc = lks_json_parse(ctx, body, n, LKS_PYINDEX_MAX_PAGE, "index page", &root);
	if (rc < 0) {
		return rc;
	}
	const json_t *meta = json_object_get(root, "meta");
	const char *api = meta ? lks_json_str(meta, "api-version") : NULL;
	if (!api || strncmp(api, "1.", 2)) {
		return lks_err(ctx, -LKS_E_VERSION, "index page '%s': unsupported api-version '%s'",
		               page_url, api ? api : "(none)");
	}
	const json_t *files = json_object_get(root, "files");
	if (!json_is_array(files)) {
		return lks_err(ctx, -LKS_E_PARSE, "index page '%s': no files array", page_url);
	}
	size_t k;
	const json_t *o;
	json_array_foreach(files, k, o)
	{
		if (!json_is_object(o)) {
			return lks_err(ctx, -LKS_E_PARSE,
			               "index page '%s': file entry is not an "
			               "object",
			               page_url);
		}
		rc = json_file(ctx, out, page_url, o);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

int lks_pyindex_parse(struct lks_ctx *ctx, const char *page_url, const char *content_type,
                      const char *body, size_t n, struct lks_pyproject *out)
{
	bool json;
	if (content_type) {
		json = strstr(content_type, "json") != NULL;
	} else {
		size_t k = 0;
		while (k < n && isspace((unsigned char)body[k])) {
			k++;
		}
		json = k < n && body[k] == '{';
	}
	return json ? lks_pyindex_parse_json(ctx, page_url, body, n, out)
	            : lks_pyindex_parse_html(ctx, page_url, body, n, out);
}
