/* pip requirements files; see pinner/python/pyreq.h. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"
#include "pinner/python/pyreq.h"
#include "lockstep/strv.h"

/* The state of one file being read. */
struct rqfile {
	struct lks_ctx *ctx;
	struct lks_pyreq_set *set;
	const char *name; /* display name (owned by set->files) */
	int line;         /* current logical line */
	bool constraint;
	bool allow_includes;
	int depth;
	char **chain; /* real paths of the files being read, outermost first */
};

void lks_pyreq_set_init(struct lks_pyreq_set *set)
{
	memset(set, 0, sizeof(*set));
}

static void item_free(struct lks_pyreq_item *it)
{
	free(it->text);
	free(it->marker_text);
	lks_strv_free(it->hashes, it->nhashes);
	lks_pep508_req_free(&it->req);
}

void lks_pyreq_set_free(struct lks_pyreq_set *set)
{
	for (size_t k = 0; k < set->n; k++) {
		item_free(&set->items[k]);
	}
	free(set->items);
	lks_strv_free(set->files, set->nfiles);
	free(set->index_url);
	lks_strv_free(set->extra_index_urls, set->nextra);
	lks_strv_free(set->find_links, set->nfind_links);
	lks_strv_free(set->trusted_hosts, set->ntrusted);
	memset(set, 0, sizeof(*set));
}

/* "FILE:LINE: detail" for the current line; detail may quote ctx->err. */
static int rq_err(struct rqfile *f, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int rq_err(struct rqfile *f, int code, const char *fmt, ...)
{
	char detail[1536];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return lks_err(f->ctx, code, "%s:%d: %s", f->name, f->line, detail);
}

static int new_item(struct rqfile *f, enum lks_pyreq_kind kind, const char *text, size_t len,
                    struct lks_pyreq_item **out)
{
	struct lks_pyreq_set *set = f->set;
	if (set->n >= LKS_PYREQ_MAX_ITEMS) {
		return rq_err(f, -LKS_E_TOOBIG, "more than %d requirements", LKS_PYREQ_MAX_ITEMS);
	}
	struct lks_pyreq_item *items = realloc(set->items, (set->n + 1) * sizeof(*items));
	if (!items) {
		return -ENOMEM;
	}
	set->items = items;
	struct lks_pyreq_item *it = &items[set->n];
	memset(it, 0, sizeof(*it));
	lks_pep508_req_init(&it->req);
	it->text = strndup(text, len);
	if (!it->text) {
		return -ENOMEM;
	}
	it->kind = kind;
	it->file = f->name;
	it->line = f->line;
	it->constraint = f->constraint;
	set->n++;
	*out = it;
	return 0;
}

/* ---- options (pip's optparse subset) ---- */

enum optid {
	O_INDEX_URL,
	O_EXTRA_INDEX_URL,
	O_NO_INDEX,
	O_CONSTRAINT,
	O_REQUIREMENT,
	O_EDITABLE,
	O_FIND_LINKS,
	O_NO_BINARY,
	O_ONLY_BINARY,
	O_PREFER_BINARY,
	O_REQUIRE_HASHES,
	O_PRE,
	O_TRUSTED_HOST,
	O_USE_FEATURE,
	O_HASH,
	O_INSTALL_OPTION,
	O_GLOBAL_OPTION,
};

static const struct opt {
	enum optid id;
	char shortname;
	const char *longname;
	bool takes_value;
	bool per_requirement;
} opts[] = {
    {O_INDEX_URL, 'i', "index-url", true, false},
    {O_EXTRA_INDEX_URL, 0, "extra-index-url", true, false},
    {O_NO_INDEX, 0, "no-index", false, false},
    {O_CONSTRAINT, 'c', "constraint", true, false},
    {O_REQUIREMENT, 'r', "requirement", true, false},
    {O_EDITABLE, 'e', "editable", true, false},
    {O_FIND_LINKS, 'f', "find-links", true, false},
    {O_NO_BINARY, 0, "no-binary", true, false},
    {O_ONLY_BINARY, 0, "only-binary", true, false},
    {O_PREFER_BINARY, 0, "prefer-binary", false, false},
    {O_REQUIRE_HASHES, 0, "require-hashes", false, false},
    {O_PRE, 0, "pre", false, false},
    {O_TRUSTED_HOST, 0, "trusted-host", true, false},
    {O_USE_FEATURE, 0, "use-feature", true, false},
    {O_HASH, 0, "hash", true, true},
    {O_INSTALL_OPTION, 0, "install-option", true, true},
    {O_GLOBAL_OPTION, 0, "global-option", true, true},
};

/* Split like shlex: whitespace separated, '...' and "..." quoting, backslash escapes. */
static int shell_split(const char *s, char ***argv, size_t *argc)
{
	struct lks_buf w;
	lks_buf_init(&w, LKS_PYREQ_MAX_LINE);
	int rc = 0;
	for (size_t i = 0; s[i] && rc == 0;) {
		while (isspace((unsigned char)s[i])) {
			i++;
		}
		if (!s[i]) {
			break;
		}
		lks_buf_reset(&w);
		char q = 0;
		for (; s[i] && rc == 0 && (q || !isspace((unsigned char)s[i])); i++) {
			if (!q && (s[i] == '\'' || s[i] == '"')) {
				q = s[i];
			} else if (q && s[i] == q) {
				q = 0;
			} else if (s[i] == '\\' && q != '\'' && s[i + 1]) {
				rc = lks_buf_putc(&w, s[++i]);
			} else {
				rc = lks_buf_putc(&w, s[i]);
			}
		}
		if (rc == 0 && q) {
			rc = -LKS_E_PARSE;
		}
		if (rc == 0) {
			rc = lks_strv_push(argv, argc, 0, w.data ? w.data : "", w.len);
		}
	}
	lks_buf_free(&w);
	return rc;
}

/* Find an option by "--name" (unique prefixes allowed, as optparse does) or "-x". */
static const struct opt *find_opt(const char *name, size_t len, bool is_long, bool *ambiguous)
{
	const struct opt *found = NULL;
	*ambiguous = false;
	for (size_t k = 0; k < ARRAY_SIZE(opts); k++) {
		if (!is_long) {
			if (opts[k].shortname == name[0]) {
				return &opts[k];
			}
			continue;
		}
		if (strlen(opts[k].longname) == len && !memcmp(opts[k].longname, name, len)) {
			return &opts[k];
		}
		if (strlen(opts[k].longname) > len && !memcmp(opts[k].longname, name, len)) {
			*ambiguous = found != NULL;
			found = &opts[k];
		}
	}
	return *ambiguous ? NULL : found;
}

static int add_hash(struct rqfile *f, struct lks_pyreq_item *it, const char *val)
{
	static const struct {
		const char *algo;
		size_t hexlen;
	} strong[] = {{"sha256", 64}, {"sha384", 96}, {"sha512", 128}};
	const char *colon = strchr(val, ':');
	size_t k = 0;
	while (colon && k < ARRAY_SIZE(strong) &&
	       ((size_t)(colon - val) != strlen(strong[k].algo) ||
	        memcmp(val, strong[k].algo, strlen(strong[k].algo)))) {
		k++;
	}
	if (!colon || k == ARRAY_SIZE(strong)) {
		return rq_err(f, -LKS_E_PARSE,
		              "invalid --hash '%.100s': allowed hash algorithms "
		              "are sha256, sha384, sha512",
		              val);
	}
	size_t hl = strlen(colon + 1);
	bool hex = hl == strong[k].hexlen;
	for (size_t i = 0; hex && i < hl; i++) {
		hex = isxdigit((unsigned char)colon[1 + i]);
	}
	if (!hex) {
		return rq_err(f, -LKS_E_PARSE, "invalid --hash '%.100s': expected %zu hex digits",
		              val, strong[k].hexlen);
	}
	if (it->nhashes >= LKS_PYREQ_MAX_HASHES) {
		return rq_err(f, -LKS_E_TOOBIG, "more than %d hashes", LKS_PYREQ_MAX_HASHES);
	}
	int rc = lks_strv_push(&it->hashes, &it->nhashes, 0, val, strlen(val));
	for (char *p = rc == 0 ? it->hashes[it->nhashes - 1] : NULL; p && *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	return rc;
}

static int include_file(struct rqfile *f, const char *target, bool constraint);
static int add_editable(struct rqfile *f, const char *val);

static int apply_file_opt(struct rqfile *f, const struct opt *o, const char *val)
{
	struct lks_pyreq_set *s = f->set;
	switch (o->id) {
	case O_INDEX_URL:
		free(s->index_url);
		s->index_url = strdup(val);
		return s->index_url ? 0 : -ENOMEM;
	case O_EXTRA_INDEX_URL:
		return lks_strv_push(&s->extra_index_urls, &s->nextra, 0, val, strlen(val));
	case O_FIND_LINKS:
		return lks_strv_push(&s->find_links, &s->nfind_links, 0, val, strlen(val));
	case O_TRUSTED_HOST:
		return lks_strv_push(&s->trusted_hosts, &s->ntrusted, 0, val, strlen(val));
	case O_NO_INDEX:
		s->no_index = true;
		return 0;
	case O_PRE:
		s->pre = true;
		return 0;
	case O_REQUIRE_HASHES:
		s->require_hashes = true;
		return 0;
	case O_REQUIREMENT:
	case O_CONSTRAINT:
		return include_file(f, val, o->id == O_CONSTRAINT);
	case O_EDITABLE:
		return add_editable(f, val);
	default:
		lks_warn(f->ctx, "%s:%d: option '--%s' has no effect on pinning", f->name, f->line,
		         o->longname);
		return 0;
	}
}

static int apply_opt(struct rqfile *f, const struct opt *o, const char *val,
                     struct lks_pyreq_item *it)
{
	if (!it && o->per_requirement) {
		return rq_err(f, -LKS_E_PARSE, "option '--%s' needs a requirement on the same line",
		              o->longname);
	}
	if (it && !o->per_requirement) {
		lks_warn(f->ctx, "%s:%d: option '--%s' is ignored on a requirement line", f->name,
		         f->line, o->longname);
		return 0;
	}
	if (o->id == O_HASH) {
		return add_hash(f, it, val);
	}
	if (it) {
		lks_warn(f->ctx, "%s:%d: option '--%s' has no effect on pinning", f->name, f->line,
		         o->longname);
		return 0;
	}
	return apply_file_opt(f, o, val);
}

/* The option "--name[=value]", "-x[value]" in a (NULL when unknown), and its inline value. */
static const struct opt *option_at(const char *a, bool *ambiguous, const char **val)
{
	bool is_long = a[1] == '-';
	const char *name = a + (is_long ? 2 : 1);
	size_t nlen = is_long ? strcspn(name, "=") : 1;
	const struct opt *o = find_opt(name, nlen, is_long, ambiguous);
	*val = NULL;
	if (is_long && name[nlen] == '=') {
		*val = name + nlen + 1;
	} else if (!is_long && name[1]) {
		*val = name + 1;
	}
	return nlen ? o : NULL;
}

/* One argv element at *k: an option with its value (consuming the next element if needed). */
static int one_option(struct rqfile *f, char **argv, size_t argc, size_t *k,
                      struct lks_pyreq_item *it)
{
	const char *a = argv[*k];
	bool ambiguous;
	const char *val;
	const struct opt *o = option_at(a, &ambiguous, &val);
	if (!o) {
		return rq_err(f, -LKS_E_PARSE, "%s option '%.100s'",
		              ambiguous ? "ambiguous" : "unknown", a);
	}
	if (!o->takes_value && val) {
		return rq_err(f, -LKS_E_PARSE, "option '--%s' takes no value", o->longname);
	}
	if (o->takes_value && !val) {
		if (*k + 1 >= argc) {
			return rq_err(f, -LKS_E_PARSE, "option '%.100s' needs a value", a);
		}
		val = argv[++*k];
	}
	return apply_opt(f, o, val ? val : "", it);
}

static int parse_options(struct rqfile *f, const char *text, struct lks_pyreq_item *it)
{
	char **argv = NULL;
	size_t argc = 0;
	int rc = shell_split(text, &argv, &argc);
	if (rc == -LKS_E_PARSE) {
		rc = rq_err(f, rc, "unterminated quote in options");
	}
	for (size_t k = 0; rc == 0 && k < argc; k++) {
		if (argv[k][0] == '-' && argv[k][1]) {
			rc = one_option(f, argv, argc, &k, it);
		} else {
			lks_warn(f->ctx, "%s:%d: ignoring '%.100s' after the options", f->name,
			         f->line, argv[k]);
		}
	}
	lks_strv_free(argv, argc);
	return rc;
}

/* ---- requirement lines ---- */

static bool is_url(const char *s)
{
	static const char *const schemes[] = {
	    "http",      "https",          "file",     "ftp",      "git+http",  "git+https",
	    "git+ssh",   "git+git",        "git+file", "git",      "hg+http",   "hg+https",
	    "hg+ssh",    "hg+static-http", "hg+file",  "svn",      "svn+ssh",   "svn+http",
	    "svn+https", "svn+svn",        "svn+file", "bzr+http", "bzr+https", "bzr+ssh",
	    "bzr+sftp",  "bzr+ftp",        "bzr+lp",   "bzr+file",
	};
	const char *colon = strchr(s, ':');
	for (size_t k = 0; colon && k < ARRAY_SIZE(schemes); k++) {
		if ((size_t)(colon - s) == strlen(schemes[k]) &&
		    !strncasecmp(s, schemes[k], strlen(schemes[k]))) {
			return true;
		}
	}
	return false;
}

static bool looks_like_path(const char *s, size_t n)
{
	return memchr(s, '/', n) != NULL || (n && s[0] == '.');
}

static bool is_archive(const char *s, size_t n)
{
	static const char *const exts[] = {
	    ".zip", ".whl",    ".tar.gz", ".tgz", ".tar",    ".tar.bz2",
	    ".tbz", ".tar.xz", ".txz",    ".tlz", ".tar.lz", ".tar.lzma",
	};
	for (size_t k = 0; k < ARRAY_SIZE(exts); k++) {
		size_t l = strlen(exts[k]);
		if (n >= l && !strncasecmp(s + n - l, exts[k], l)) {
			return true;
		}
	}
	return false;
}

/* URL or path requirement: "URL; marker" (pip splits URLs on "; ", paths on ";"). */
static int add_location(struct rqfile *f, enum lks_pyreq_kind kind, const char *arg,
                        struct lks_pyreq_item **out)
{
	const char *sep = strstr(arg, kind == LKS_PYREQ_URL ? "; " : ";");
	size_t len = sep ? (size_t)(sep - arg) : strlen(arg);
	while (len && isspace((unsigned char)arg[len - 1])) {
		len--;
	}
	int rc = new_item(f, kind, arg, len, out);
	if (rc < 0 || !sep) {
		return rc;
	}
	const char *m = sep + 1;
	while (isspace((unsigned char)*m)) {
		m++;
	}
	struct lks_marker *marker = NULL;
	rc = lks_marker_parse(f->ctx, m, strlen(m), &marker);
	if (rc < 0) {
		return rq_err(f, rc, "%.1000s", f->ctx ? f->ctx->err : "invalid marker");
	}
	lks_marker_free(marker);
	(*out)->marker_text = strdup(m);
	return (*out)->marker_text ? 0 : -ENOMEM;
}

static int add_requirement(struct rqfile *f, const char *arg, struct lks_pyreq_item **out)
{
	if (is_url(arg)) {
		return add_location(f, LKS_PYREQ_URL, arg, out);
	}
	size_t head = strcspn(arg, ";");
	const char *at = memchr(arg, '@', head);
	bool named_url = at && !looks_like_path(arg, (size_t)(at - arg));
	if (!named_url && (looks_like_path(arg, head) || is_archive(arg, head))) {
		return add_location(f, LKS_PYREQ_PATH, arg, out);
	}
	int rc = new_item(f, LKS_PYREQ_NAMED, arg, strlen(arg), out);
	if (rc < 0) {
		return rc;
	}
	rc = lks_pep508_parse(f->ctx, arg, strlen(arg), &(*out)->req);
	if (rc < 0) {
		return rq_err(f, rc, "%.1000s", f->ctx ? f->ctx->err : "invalid requirement");
	}
	return 0;
}

static int add_editable(struct rqfile *f, const char *val)
{
	struct lks_pyreq_item *it;
	return new_item(f, LKS_PYREQ_EDITABLE, val, strlen(val), &it);
}

/* Requirement tokens end at the first space-separated token starting with '-' (pip). */
static size_t args_end(const char *line)
{
	size_t i = 0;
	for (;;) {
		if (line[i] == '-') {
			return i;
		}
		const char *sp = strchr(line + i, ' ');
		if (!sp) {
			return strlen(line);
		}
		i = (size_t)(sp - line) + 1;
	}
}

static int handle_line(struct rqfile *f, char *line)
{
	size_t end = args_end(line);
	char *options = line + end;
	size_t alen = end;
	while (alen && isspace((unsigned char)line[alen - 1])) {
		alen--;
	}
	if (!alen) {
		return parse_options(f, options, NULL);
	}
	_cleanup_free_ char *arg = strndup(line, alen);
	if (!arg) {
		return -ENOMEM;
	}
	struct lks_pyreq_item *it = NULL;
	int rc = add_requirement(f, arg, &it);
	if (rc < 0) {
		return rc;
	}
	return parse_options(f, options, it);
}

/* ---- lines ---- */

/* A comment starts at '#' at the line start or after whitespace; the whitespace goes too. */
static void strip_comment(char *line)
{
	for (size_t i = 0; line[i]; i++) {
		if (line[i] == '#' && (i == 0 || isspace((unsigned char)line[i - 1]))) {
			while (i && isspace((unsigned char)line[i - 1])) {
				i--;
			}
			line[i] = '\0';
			return;
		}
	}
}

static int expand_env(const char *in, struct lks_buf *out)
{
	int rc = 0;
	for (size_t i = 0; in[i] && rc == 0;) {
		size_t n = 0;
		if (in[i] == '$' && in[i + 1] == '{') {
			while (isupper((unsigned char)in[i + 2 + n]) ||
			       isdigit((unsigned char)in[i + 2 + n]) || in[i + 2 + n] == '_') {
				n++;
			}
		}
		if (n && in[i + 2 + n] == '}') {
			char name[256];
			snprintf(name, sizeof(name), "%.*s", (int)n, in + i + 2);
			const char *v = getenv(name);
			if (v) {
				rc = lks_buf_puts(out, v);
				i += n + 3;
				continue;
			}
		}
		rc = lks_buf_putc(out, in[i++]);
	}
	return rc;
}

static int process_logical(struct rqfile *f, struct lks_buf *logical)
{
	if (!logical->data) {
		return 0;
	}
	strip_comment(logical->data);
	struct lks_buf exp;
	lks_buf_init(&exp, LKS_PYREQ_MAX_LINE);
	int rc = expand_env(logical->data, &exp);
	if (rc == -LKS_E_TOOBIG) {
		rc = rq_err(f, rc, "line longer than %d bytes", LKS_PYREQ_MAX_LINE);
	}
	char *s = exp.data;
	while (rc == 0 && s && isspace((unsigned char)*s)) {
		s++;
	}
	size_t l = s ? strlen(s) : 0;
	while (l && isspace((unsigned char)s[l - 1])) {
		s[--l] = '\0';
	}
	if (rc == 0 && l) {
		rc = handle_line(f, s);
	}
	lks_buf_free(&exp);
	return rc;
}

static bool comment_line(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n && isspace((unsigned char)p[i])) {
		i++;
	}
	return i < n && p[i] == '#';
}

/* Append a continued physical line with every leading and trailing backslash removed. */
static int append_continued(struct lks_buf *b, const char *p, size_t n)
{
	while (n && p[0] == '\\') {
		p++;
		n--;
	}
	while (n && p[n - 1] == '\\') {
		n--;
	}
	return lks_buf_append(b, p, n);
}

static int physical_line(struct rqfile *f, struct lks_buf *logical, const char *p, size_t len,
                         bool *pending)
{
	bool comment = comment_line(p, len);
	int rc;
	if (len && p[len - 1] == '\\' && !comment) {
		*pending = true;
		rc = append_continued(logical, p, len);
	} else {
		*pending = false;
		rc = comment ? lks_buf_putc(logical, ' ') : 0;
		rc = rc ? rc : lks_buf_append(logical, p, len);
		if (rc == 0) {
			return process_logical(f, logical);
		}
	}
	if (rc == -LKS_E_TOOBIG) {
		return rq_err(f, rc, "line longer than %d bytes", LKS_PYREQ_MAX_LINE);
	}
	return rc;
}

/* Join physical lines as pip does and hand each logical line on, numbered by its first line. */
static int parse_text(struct rqfile *f, const char *text, size_t n)
{
	struct lks_buf logical;
	lks_buf_init(&logical, LKS_PYREQ_MAX_LINE);
	bool pending = false;
	int ln = 0, rc = 0;
	if (n >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) {
		text += 3;
		n -= 3;
	}
	for (size_t i = 0; i < n && rc == 0;) {
		const char *nl = memchr(text + i, '\n', n - i);
		size_t len = nl ? (size_t)(nl - (text + i)) : n - i;
		const char *p = text + i;
		i += len + (nl != NULL);
		ln++;
		len -= len && p[len - 1] == '\r';
		if (!pending) {
			f->line = ln;
			lks_buf_reset(&logical);
		}
		if (memchr(p, '\0', len)) {
			rc = rq_err(f, -LKS_E_PARSE, "NUL byte in line");
			break;
		}
		rc = physical_line(f, &logical, p, len, &pending);
	}
	if (rc == 0 && pending) {
		rc = process_logical(f, &logical);
	}
	lks_buf_free(&logical);
	return rc;
}

/* ---- files and includes ---- */

static int read_file(struct lks_ctx *ctx, const char *path, struct lks_buf *b)
{
	lks_buf_init(b, LKS_PYREQ_MAX_FILE);
	int rc = lks_buf_read_file(b, path);
	if (rc == -LKS_E_TOOBIG) {
		return lks_err(ctx, rc, "cannot read '%s': larger than %zu bytes", path,
		               (size_t)LKS_PYREQ_MAX_FILE);
	}
	if (rc < 0) {
		return lks_err(ctx, rc, "cannot read '%s': %s", path, lks_strerror(rc));
	}
	return 0;
}

/* Read `path` (already registered as display name `name`) below the including file. */
static int parse_nested(struct rqfile *parent, const char *name, bool constraint)
{
	char real[PATH_MAX];
	if (!realpath(name, real)) {
		return rq_err(parent, -errno, "cannot read '%s': %s", name, strerror(errno));
	}
	for (int k = 0; k <= parent->depth; k++) {
		if (!strcmp(parent->chain[k], real)) {
			return rq_err(parent, -LKS_E_PARSE, "'%s' includes itself (include cycle)",
			              name);
		}
	}
	struct lks_buf b;
	int rc = read_file(parent->ctx, name, &b);
	if (rc < 0) {
		char detail[1024];
		snprintf(detail, sizeof(detail), "%.1000s", parent->ctx->err);
		lks_buf_free(&b);
		return rq_err(parent, rc, "%s", detail);
	}
	struct rqfile child = *parent;
	child.name = name;
	child.line = 0;
	child.constraint = constraint;
	child.depth = parent->depth + 1;
	child.chain[child.depth] = real;
	rc = parse_text(&child, b.data, b.len);
	lks_buf_free(&b);
	return rc;
}

static int include_file(struct rqfile *f, const char *target, bool constraint)
{
	if (!f->allow_includes) {
		return rq_err(f, -LKS_E_UNSUPPORTED, "includes are not allowed here ('%.200s')",
		              target);
	}
	if (is_url(target)) {
		return rq_err(f, -LKS_E_UNSUPPORTED,
		              "remote requirement file '%.200s' is not "
		              "supported: download it and refer to the local copy",
		              target);
	}
	if (f->depth + 1 >= LKS_PYREQ_MAX_DEPTH) {
		return rq_err(f, -LKS_E_TOOBIG, "includes nested deeper than %d",
		              LKS_PYREQ_MAX_DEPTH);
	}
	const char *slash = strrchr(f->name, '/');
	struct lks_buf path;
	lks_buf_init(&path, PATH_MAX);
	int rc = target[0] == '/' || !slash
	             ? lks_buf_puts(&path, target)
	             : lks_buf_printf(&path, "%.*s/%s", (int)(slash - f->name), f->name, target);
	if (rc == 0) {
		rc = lks_strv_push(&f->set->files, &f->set->nfiles, 0, path.data, path.len);
	}
	lks_buf_free(&path);
	if (rc < 0) {
		return rc == -LKS_E_TOOBIG ? rq_err(f, rc, "include path too long") : rc;
	}
	return parse_nested(f, f->set->files[f->set->nfiles - 1], constraint);
}

static int parse_top(struct lks_ctx *ctx, const char *name, const char *text, size_t n,
                     bool allow_includes, const char *real, struct lks_pyreq_set *set)
{
	char *chain[LKS_PYREQ_MAX_DEPTH + 1] = {(char *)real};
	int rc = lks_strv_push(&set->files, &set->nfiles, 0, name, strlen(name));
	if (rc < 0) {
		return rc;
	}
	struct rqfile f = {
	    .ctx = ctx,
	    .set = set,
	    .name = set->files[set->nfiles - 1],
	    .allow_includes = allow_includes,
	    .chain = chain,
	};
	ctx->err[0] = '\0';
	return parse_text(&f, text, n);
}

int lks_pyreq_parse_buf(struct lks_ctx *ctx, const char *name, const char *text, size_t n,
                        bool allow_includes, struct lks_pyreq_set *set)
{
	if (n > LKS_PYREQ_MAX_FILE) {
		return lks_err(ctx, -LKS_E_TOOBIG, "'%s' is larger than %zu bytes", name,
		               (size_t)LKS_PYREQ_MAX_FILE);
	}
	char real[PATH_MAX];
	if (!realpath(name, real)) {
		snprintf(real, sizeof(real), "%s", name);
	}
	return parse_top(ctx, name, text, n, allow_includes, real, set);
}

int lks_pyreq_parse_file(struct lks_ctx *ctx, const char *path, struct lks_pyreq_set *set)
{
	char real[PATH_MAX];
	if (!realpath(path, real)) {
		return lks_err(ctx, -errno, "cannot read '%s': %s", path, strerror(errno));
	}
	struct lks_buf b;
	int rc = read_file(ctx, path, &b);
	if (rc == 0) {
		rc = parse_top(ctx, path, b.data, b.len, true, real, set);
	}
	lks_buf_free(&b);
	return rc;
}

/* ---- pip install command lines ---- */

/* Options of `pip install` that do not matter for pinning: name, short letter, takes a value. */
static const struct {
	const char *name;
	char shortname;
	bool value;
} pip_only[] = {
    {"upgrade", 'U', false},
    {"user", 0, false},
    {"no-cache-dir", 0, false},
    {"no-deps", 0, false},
    {"quiet", 'q', false},
    {"verbose", 'v', false},
    {"force-reinstall", 0, false},
    {"ignore-installed", 'I', false},
    {"break-system-packages", 0, false},
    {"no-compile", 0, false},
    {"compile", 0, false},
    {"disable-pip-version-check", 0, false},
    {"no-warn-script-location", 0, false},
    {"no-build-isolation", 0, false},
    {"use-pep517", 0, false},
    {"no-use-pep517", 0, false},
    {"isolated", 0, false},
    {"no-input", 0, false},
    {"no-color", 0, false},
    {"ignore-requires-python", 0, false},
    {"no-clean", 0, false},
    {"dry-run", 0, false},
    {"no-python-version-warning", 0, false},
    {"require-virtualenv", 0, false},
    {"root-user-action", 0, true},
    {"progress-bar", 0, true},
    {"target", 't', true},
    {"prefix", 0, true},
    {"root", 0, true},
    {"upgrade-strategy", 0, true},
    {"report", 0, true},
    {"timeout", 0, true},
    {"retries", 0, true},
    {"cache-dir", 0, true},
    {"log", 0, true},
    {"proxy", 0, true},
    {"exists-action", 0, true},
    {"cert", 0, true},
    {"client-cert", 0, true},
    {"src", 0, true},
    {"config-settings", 0, true},
};

/* 1 when argv[*k] is a pip-only option (its value skipped), 0 when not. */
static int pip_only_option(char **argv, size_t argc, size_t *k)
{
	const char *a = argv[*k];
	bool is_long = a[1] == '-';
	const char *name = a + (is_long ? 2 : 1);
	size_t nlen = is_long ? strcspn(name, "=") : 1;
	for (size_t j = 0; j < ARRAY_SIZE(pip_only); j++) {
		bool hit = is_long ? strlen(pip_only[j].name) == nlen &&
		                         !memcmp(pip_only[j].name, name, nlen)
		                   : pip_only[j].shortname == name[0];
		if (!hit) {
			continue;
		}
		bool inline_val = is_long ? name[nlen] == '=' : name[1] != '\0';
		if (pip_only[j].value && !inline_val && *k + 1 < argc) {
			(*k)++;
		}
		return 1;
	}
	return 0;
}

enum lks_pyreq_pip_arg_kind lks_pyreq_pip_arg(char *const *argv, size_t argc, size_t *k,
                                              const char **val)
{
	const char *a = argv[*k];
	*val = NULL;
	if (a[0] != '-' || !a[1]) {
		return LKS_PYREQ_ARG_REQUIREMENT;
	}
	if (pip_only_option((char **)argv, argc, k)) {
		return LKS_PYREQ_ARG_OPTION;
	}
	bool ambiguous;
	const struct opt *o = option_at(a, &ambiguous, val);
	if (!o) {
		return LKS_PYREQ_ARG_UNKNOWN;
	}
	if (!*val && o->takes_value && *k + 1 < argc) {
		*val = argv[++*k];
	}
	return o->id == O_REQUIREMENT  ? LKS_PYREQ_ARG_REQFILE
	       : o->id == O_CONSTRAINT ? LKS_PYREQ_ARG_CONSTRAINT
	       : o->id == O_EDITABLE   ? LKS_PYREQ_ARG_EDITABLE
	                               : LKS_PYREQ_ARG_OPTION;
}

int lks_pyreq_parse_pip_args(struct lks_ctx *ctx, const char *name, int line, char **argv,
                             size_t argc, struct lks_pyreq_set *set)
{
	char real[PATH_MAX];
	char *chain[LKS_PYREQ_MAX_DEPTH + 1] = {real};
	if (!realpath(name, real)) {
		snprintf(real, sizeof(real), "%s", name);
	}
	int rc = lks_strv_push(&set->files, &set->nfiles, 0, name, strlen(name));
	struct rqfile f = {
	    .ctx = ctx,
	    .set = set,
	    .line = line,
	    .allow_includes = true,
	    .chain = chain,
	};
	f.name = rc == 0 ? set->files[set->nfiles - 1] : name;
	for (size_t k = 0; rc == 0 && k < argc; k++) {
		struct lks_pyreq_item *it;
		if (argv[k][0] != '-' || !argv[k][1]) {
			rc = add_requirement(&f, argv[k], &it);
		} else if (!pip_only_option(argv, argc, &k)) {
			rc = one_option(&f, argv, argc, &k, NULL);
		}
	}
	return rc;
}

bool lks_pyreq_item_pinned(const struct lks_pyreq_item *it)
{
	const struct lks_pep440_specset *s = &it->req.spec;
	if (it->kind != LKS_PYREQ_NAMED || it->req.url || s->n != 1) {
		return false;
	}
	return s->items[0].op == LKS_PEP440_ARBITRARY ||
	       (s->items[0].op == LKS_PEP440_EQ && !s->items[0].wildcard);
}
