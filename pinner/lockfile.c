/* lockstep.lock reading and writing.
 *
 * The three entry kinds are described by field tables (JSON key, type, offset) so that
 * parsing, validation, serialisation and freeing cannot drift apart: a field added to a
 * table is read, checked, written and freed in one place.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/sort.h"
#include "lockstep/atomic.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/json.h"
#include "lockstep/lockfile.h"
#include "lockstep/platform.h"

#define LOCK_MAX_ENTRIES 1000000
#define LOCK_MAX_LINE 100000000L

enum ftype {
	F_STR,        /* optional string */
	F_STR_REQ,    /* required non-empty string */
	F_KIND,       /* required, one of the image kinds */
	F_DIGEST,     /* required "sha256:<64 hex>" */
	F_HEX64,      /* required 64 lowercase hex */
	F_LINE,       /* required integer >= 1 */
	F_LINE_OPT,   /* integer >= 1, or absent (0) */
	F_U64,        /* required integer >= 0 */
	F_TIME,       /* required RFC 3339 */
	F_TIME_OPT,   /* optional RFC 3339, presence in the bool at aux */
	F_STRLIST,    /* array of strings, count at aux */
	F_DIGESTLIST, /* array of digests, count at aux */
	F_PLATFORMS,  /* array of platform objects, count at aux */
};

struct field {
	const char *key;
	enum ftype type;
	size_t off;
	size_t aux;
};

#define FLD(s, k, t, m)                                                                            \
	{                                                                                          \
		k, t, offsetof(struct s, m), 0                                                     \
	}
#define FLDX(s, k, t, m, x)                                                                        \
	{                                                                                          \
		k, t, offsetof(struct s, m), offsetof(struct s, x)                                 \
	}

static const struct field platform_fields[] = {
    FLD(lks_lock_platform, "os", F_STR_REQ, os),
    FLD(lks_lock_platform, "architecture", F_STR_REQ, architecture),
    FLD(lks_lock_platform, "variant", F_STR, variant),
    FLD(lks_lock_platform, "digest", F_DIGEST, digest),
    {NULL, F_STR, 0, 0},
};

static const struct field image_fields[] = {
    FLD(lks_lock_image, "file", F_STR_REQ, file),
    FLD(lks_lock_image, "line", F_LINE, line),
    FLD(lks_lock_image, "kind", F_KIND, kind),
    FLD(lks_lock_image, "written", F_STR_REQ, written),
    FLD(lks_lock_image, "reference", F_STR_REQ, reference),
    FLD(lks_lock_image, "registry", F_STR_REQ, registry),
    FLD(lks_lock_image, "digest", F_DIGEST, digest),
    FLD(lks_lock_image, "media_type", F_STR_REQ, media_type),
    FLDX(lks_lock_image, "platforms", F_PLATFORMS, platforms, n_platforms),
    FLD(lks_lock_image, "resolved_at", F_TIME, resolved_at),
    FLDX(lks_lock_image, "published_at", F_TIME_OPT, published_at, has_published_at),
    {NULL, F_STR, 0, 0},
};

static const struct field apt_fields[] = {
    FLD(lks_lock_apt, "package", F_STR_REQ, package),
    FLD(lks_lock_apt, "version", F_STR_REQ, version),
    FLD(lks_lock_apt, "architecture", F_STR_REQ, architecture),
    FLD(lks_lock_apt, "suite", F_STR, suite),
    FLD(lks_lock_apt, "component", F_STR, component),
    FLD(lks_lock_apt, "filename", F_STR_REQ, filename),
    FLD(lks_lock_apt, "sha256", F_HEX64, sha256),
    FLD(lks_lock_apt, "size", F_U64, size),
    FLD(lks_lock_apt, "source", F_STR_REQ, source),
    FLDX(lks_lock_apt, "snapshot", F_TIME_OPT, snapshot, has_snapshot),
    FLD(lks_lock_apt, "resolved_at", F_TIME, resolved_at),
    FLDX(lks_lock_apt, "published_at", F_TIME_OPT, published_at, has_published_at),
    FLD(lks_lock_apt, "file", F_STR_REQ, file),
    FLD(lks_lock_apt, "line", F_LINE_OPT, line),
    FLD(lks_lock_apt, "image", F_STR, image),
    FLD(lks_lock_apt, "closure_of", F_STR, closure_of),
    {NULL, F_STR, 0, 0},
};

static const struct field python_fields[] = {
    FLD(lks_lock_python, "name", F_STR_REQ, name),
    FLD(lks_lock_python, "version", F_STR_REQ, version),
    FLDX(lks_lock_python, "hashes", F_DIGESTLIST, hashes, n_hashes),
    FLD(lks_lock_python, "index", F_STR_REQ, index),
    FLD(lks_lock_python, "requires_python", F_STR, requires_python),
    FLDX(lks_lock_python, "published_at", F_TIME_OPT, published_at, has_published_at),
    FLD(lks_lock_python, "resolved_at", F_TIME, resolved_at),
    FLDX(lks_lock_python, "via", F_STRLIST, via, n_via),
    FLD(lks_lock_python, "file", F_STR_REQ, file),
    FLD(lks_lock_python, "line", F_LINE_OPT, line),
    {NULL, F_STR, 0, 0},
};

static const struct field dockerfile_fields[] = {
    FLD(lks_lock_dockerfile, "file", F_STR_REQ, file),
    FLDX(lks_lock_dockerfile, "platforms", F_STRLIST, platforms, n_platforms),
    {NULL, F_STR, 0, 0},
};

typedef int (*entry_cmp_fn)(const void *, const void *);

/* One array of the lock: where it lives in struct lks_lock and how its entries behave. */
struct section {
	const char *key;
	const struct field *fields;
	size_t size;
	size_t arr_off, n_off;
	size_t file_off, line_off, stale_off;
	const char *label;    /* JSON key naming the entry in messages */
	entry_cmp_fn cmp;     /* canonical order */
	entry_cmp_fn key_cmp; /* identity */
	bool omit_empty;      /* not written when it has no entries (added after version 1) */
};

#define PTR(base, off, type) ((type *)((char *)(base) + (off)))
#define CPTR(base, off, type) ((type const *)((const char *)(base) + (off)))

/* ---- freeing ---- */

static void free_fields(const struct field *f, void *p);

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i]);
	}
	free(v);
}

static void free_platforms(struct lks_lock_platform *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free_fields(platform_fields, &v[i]);
	}
	free(v);
}

static void free_fields(const struct field *f, void *p)
{
	for (; f->key; f++) {
		switch (f->type) {
		case F_STR:
		case F_STR_REQ:
		case F_KIND:
		case F_DIGEST:
		case F_HEX64:
			free(*PTR(p, f->off, char *));
			break;
		case F_STRLIST:
		case F_DIGESTLIST:
			free_list(*PTR(p, f->off, char **), *PTR(p, f->aux, size_t));
			break;
		case F_PLATFORMS:
			free_platforms(*PTR(p, f->off, struct lks_lock_platform *),
			               *PTR(p, f->aux, size_t));
			break;
		default:
			break;
		}
	}
}

void lks_lock_image_free(struct lks_lock_image *e)
{
	free_fields(image_fields, e);
	memset(e, 0, sizeof(*e));
}

void lks_lock_apt_free(struct lks_lock_apt *e)
{
	free_fields(apt_fields, e);
	memset(e, 0, sizeof(*e));
}

void lks_lock_python_free(struct lks_lock_python *e)
{
	free_fields(python_fields, e);
	memset(e, 0, sizeof(*e));
}

void lks_lock_dockerfile_free(struct lks_lock_dockerfile *e)
{
	free_fields(dockerfile_fields, e);
	memset(e, 0, sizeof(*e));
}

/* ---- ordering and keys ---- */

static int strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static int cmp_long(long a, long b)
{
	return (a > b) - (a < b);
}

static int cmp_image(const void *pa, const void *pb)
{
	const struct lks_lock_image *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	c = c ? c : cmp_long(a->line, b->line);
	c = c ? c : strcmp0(a->written, b->written);
	c = c ? c : strcmp0(a->kind, b->kind);
	c = c ? c : strcmp0(a->reference, b->reference);
	return c ? c : strcmp0(a->digest, b->digest);
}

static int cmp_apt(const void *pa, const void *pb)
{
	const struct lks_lock_apt *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	c = c ? c : cmp_long(a->line, b->line);
	c = c ? c : strcmp0(a->package, b->package);
	c = c ? c : strcmp0(a->architecture, b->architecture);
	c = c ? c : strcmp0(a->version, b->version);
	return c ? c : strcmp0(a->image, b->image);
}

static int cmp_python(const void *pa, const void *pb)
{
	const struct lks_lock_python *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	c = c ? c : cmp_long(a->line, b->line);
	c = c ? c : strcmp0(a->name, b->name);
	return c ? c : strcmp0(a->version, b->version);
}

/* Identity of an entry: upsert replaces, and a loaded lock may not repeat, the same key. */
static int key_image(const void *pa, const void *pb)
{
	const struct lks_lock_image *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	c = c ? c : cmp_long(a->line, b->line);
	c = c ? c : strcmp0(a->kind, b->kind);
	return c ? c : strcmp0(a->written, b->written);
}

static int key_apt(const void *pa, const void *pb)
{
	const struct lks_lock_apt *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	c = c ? c : cmp_long(a->line, b->line);
	c = c ? c : strcmp0(a->package, b->package);
	return c ? c : strcmp0(a->architecture, b->architecture);
}

static int key_python(const void *pa, const void *pb)
{
	const struct lks_lock_python *a = pa, *b = pb;
	int c = strcmp0(a->file, b->file);
	return c ? c : strcmp0(a->name, b->name);
}

static int cmp_dockerfile(const void *pa, const void *pb)
{
	const struct lks_lock_dockerfile *a = pa, *b = pb;
	return strcmp0(a->file, b->file);
}

#define SECTION(k, s, arr, n, fl, lbl, c, ke, o)                                                   \
	{                                                                                          \
		k, fl, sizeof(struct s), offsetof(struct lks_lock, arr),                           \
		    offsetof(struct lks_lock, n), offsetof(struct s, file),                        \
		    offsetof(struct s, line), offsetof(struct s, stale), lbl, c, ke, o             \
	}

static const struct section sections[] = {
    SECTION("images", lks_lock_image, images, n_images, image_fields, "written", cmp_image,
            key_image, false),
    SECTION("apt", lks_lock_apt, apt, n_apt, apt_fields, "package", cmp_apt, key_apt, false),
    SECTION("python", lks_lock_python, python, n_python, python_fields, "name", cmp_python,
            key_python, false),
    SECTION("dockerfiles", lks_lock_dockerfile, dockerfiles, n_dockerfiles, dockerfile_fields,
            "file", cmp_dockerfile, cmp_dockerfile, true),
};

#define ARR(l, s) (*PTR(l, (s)->arr_off, char *))
#define NUM(l, s) (*PTR(l, (s)->n_off, size_t))

void lks_lock_init(struct lks_lock *l)
{
	memset(l, 0, sizeof(*l));
}

void lks_lock_free(struct lks_lock *l)
{
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		const struct section *sec = &sections[s];
		for (size_t i = 0; i < NUM(l, sec); i++) {
			free_fields(sec->fields, ARR(l, sec) + i * sec->size);
		}
		free(ARR(l, sec));
	}
	memset(l, 0, sizeof(*l));
}

void lks_lock_sort(struct lks_lock *l)
{
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		const struct section *sec = &sections[s];
		if (NUM(l, sec) > 1) {
			lks_qsort(ARR(l, sec), NUM(l, sec), sec->size, sec->cmp);
		}
	}
}

/* ---- parsing ---- */

static int cmp_indirect(const void *a, const void *b, void *sec)
{
	return ((const struct section *)sec)->key_cmp(*(char *const *)a, *(char *const *)b);
}

static const char *entry_label(const struct section *sec, const void *e)
{
	for (const struct field *f = sec->fields; f->key; f++) {
		if (!strcmp(f->key, sec->label)) {
			return *CPTR(e, f->off, char *);
		}
	}
	return NULL;
}

/* Where a failure is reported: "FILE: images[3] 'python:3.12': " */
struct where {
	struct lks_ctx *ctx;
	const char *name;
	const char *sec;
	size_t index;
	const char *label;
	char sub[48]; /* "platforms[2]." inside a nested object */
};

static int bad(const struct where *w, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int bad(const struct where *w, const char *key, const char *fmt, ...)
{
	char what[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return lks_err(w->ctx, -LKS_E_PARSE, "%s: %s[%zu]%s%.200s%s: '%s%s' %s", w->name, w->sec,
	               w->index, w->label ? " '" : "", w->label ? w->label : "",
	               w->label ? "'" : "", w->sub, key, what);
}

static bool is_hex64(const char *s)
{
	return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

static bool is_digest(const char *s)
{
	return !strncmp(s, "sha256:", 7) && is_hex64(s + 7);
}

static bool is_kind(const char *s)
{
	return !strcmp(s, "from") || !strcmp(s, "copy-from") || !strcmp(s, "mount-from");
}

/* A string field, checked by type; *out is set to a copy. */
static int parse_str(const struct where *w, const struct field *f, const json_t *v, char **out)
{
	if (!json_is_string(v)) {
		return bad(w, f->key, "must be a string");
	}
	const char *s = json_string_value(v);
	if (f->type != F_STR && !s[0]) {
		return bad(w, f->key, "must not be empty");
	}
	if (f->type == F_KIND && !is_kind(s)) {
		return bad(w, f->key, "is '%.64s', not from, copy-from or mount-from", s);
	}
	if (f->type == F_DIGEST && !is_digest(s)) {
		return bad(w, f->key, "is '%.100s', not sha256:<64 lowercase hex>", s);
	}
	if (f->type == F_HEX64 && !is_hex64(s)) {
		return bad(w, f->key, "is '%.100s', not 64 lowercase hex digits", s);
	}
	if (strlen(s) != json_string_length(v)) {
		return bad(w, f->key, "contains a NUL character");
	}
	*out = strdup(s);
	return *out ? 0 : -ENOMEM;
}

static int parse_int(const struct where *w, const struct field *f, const json_t *v, void *p)
{
	if (!json_is_integer(v)) {
		return bad(w, f->key, "must be an integer");
	}
	json_int_t n = json_integer_value(v);
	if (f->type == F_U64) {
		if (n < 0) {
			return bad(w, f->key, "must not be negative");
		}
		*PTR(p, f->off, uint64_t) = (uint64_t)n;
		return 0;
	}
	if (n < 1 || n > LOCK_MAX_LINE) {
		return bad(w, f->key, "is not a line number");
	}
	*PTR(p, f->off, long) = (long)n;
	return 0;
}

static int parse_time_field(const struct where *w, const struct field *f, const json_t *v, void *p)
{
	const char *s = json_string_value(v);
	time_t t;
	/* Years 1970-9999 only: what lks_format_time writes back must parse the same. */
	if (!s || lks_parse_time(s, &t) < 0 || t < 0 || t > (time_t)253402300799) {
		return bad(w, f->key, "is '%.64s', not an RFC 3339 time", s ? s : "(not a string)");
	}
	*PTR(p, f->off, time_t) = t;
	if (f->type == F_TIME_OPT) {
		*PTR(p, f->aux, bool) = true;
	}
	return 0;
}

static int parse_list(const struct where *w, const struct field *f, const json_t *v, void *p)
{
	if (!json_is_array(v)) {
		return bad(w, f->key, "must be an array");
	}
	size_t n = json_array_size(v);
	char **list = calloc(n ? n : 1, sizeof(*list));
	if (!list) {
		return -ENOMEM;
	}
	*PTR(p, f->off, char **) = list;
	struct field elem = {f->key, f->type == F_DIGESTLIST ? F_DIGEST : F_STR_REQ, 0, 0};
	for (size_t i = 0; i < n; i++) {
		int rc = parse_str(w, &elem, json_array_get(v, i), &list[i]);
		if (rc < 0) {
			return rc;
		}
		*PTR(p, f->aux, size_t) = i + 1;
	}
	return 0;
}

static int parse_object(const struct where *w, const struct field *fields, const json_t *obj,
                        void *p);

static int parse_platforms(const struct where *w, const struct field *f, const json_t *v, void *p)
{
	if (!json_is_array(v)) {
		return bad(w, f->key, "must be an array");
	}
	size_t n = json_array_size(v);
	struct lks_lock_platform *arr = calloc(n ? n : 1, sizeof(*arr));
	if (!arr) {
		return -ENOMEM;
	}
	*PTR(p, f->off, struct lks_lock_platform *) = arr;
	for (size_t i = 0; i < n; i++) {
		/* Counted before parsing so a half-parsed platform is freed too. */
		*PTR(p, f->aux, size_t) = i + 1;
		struct where in = *w;
		snprintf(in.sub, sizeof(in.sub), "%s[%zu].", f->key, i);
		int rc = parse_object(&in, platform_fields, json_array_get(v, i), &arr[i]);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int parse_field(const struct where *w, const struct field *f, const json_t *v, void *p)
{
	switch (f->type) {
	case F_LINE:
	case F_LINE_OPT:
	case F_U64:
		return parse_int(w, f, v, p);
	case F_TIME:
	case F_TIME_OPT:
		return parse_time_field(w, f, v, p);
	case F_STRLIST:
	case F_DIGESTLIST:
		return parse_list(w, f, v, p);
	case F_PLATFORMS:
		return parse_platforms(w, f, v, p);
	default:
		return parse_str(w, f, v, PTR(p, f->off, char *));
	}
}

static bool optional(enum ftype t)
{
	return t == F_STR || t == F_LINE_OPT || t == F_TIME_OPT || t == F_STRLIST ||
	       t == F_DIGESTLIST || t == F_PLATFORMS;
}

static int parse_object(const struct where *w, const struct field *fields, const json_t *obj,
                        void *p)
{
	if (!json_is_object(obj)) {
		return bad(w, "entry", "must be an object");
	}
	for (const struct field *f = fields; f->key; f++) {
		const json_t *v = json_object_get(obj, f->key);
		if (!v || json_is_null(v)) {
			if (optional(f->type)) {
				continue;
			}
			return bad(w, f->key, "is missing");
		}
		int rc = parse_field(w, f, v, p);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static int parse_section(struct where *w, const struct section *sec, const json_t *arr,
                         struct lks_lock *l)
{
	if (!arr) {
		return 0;
	}
	if (!json_is_array(arr)) {
		return lks_err(w->ctx, -LKS_E_PARSE, "%s: '%s' must be an array", w->name,
		               sec->key);
	}
	size_t n = json_array_size(arr);
	if (n > LOCK_MAX_ENTRIES) {
		return lks_err(w->ctx, -LKS_E_TOOBIG, "%s: more than %d %s entries", w->name,
		               LOCK_MAX_ENTRIES, sec->key);
	}
	ARR(l, sec) = calloc(n ? n : 1, sec->size);
	if (!ARR(l, sec)) {
		return -ENOMEM;
	}
	w->sec = sec->key;
	for (size_t i = 0; i < n; i++) {
		const json_t *obj = json_array_get(arr, i);
		w->index = i;
		w->label = lks_json_str(obj, sec->label);
		NUM(l, sec) = i + 1; /* so that lks_lock_free releases a half-parsed entry */
		int rc = parse_object(w, sec->fields, obj, ARR(l, sec) + i * sec->size);
		if (rc < 0) {
			return rc;
		}
	}
	w->sec = NULL;
	return 0;
}

static int parse_version(const struct where *w, const json_t *root)
{
	const json_t *v = json_object_get(root, "lockfile_version");
	if (!json_is_integer(v)) {
		return lks_err(w->ctx, -LKS_E_PARSE,
		               "%s: 'lockfile_version' is missing or not an "
		               "integer",
		               w->name);
	}
	json_int_t n = json_integer_value(v);
	if (n > LKS_LOCKFILE_VERSION) {
		return lks_err(w->ctx, -LKS_E_VERSION,
		               "%s version %lld is newer than this lockstep "
		               "supports",
		               w->name, (long long)n);
	}
	if (n < 1) {
		return lks_err(w->ctx, -LKS_E_PARSE, "%s: 'lockfile_version' %lld is invalid",
		               w->name, (long long)n);
	}
	return 0;
}

static int check_unique(struct where *w, const struct section *sec, struct lks_lock *l)
{
	size_t n = NUM(l, sec);
	_cleanup_free_ char **idx = calloc(n ? n : 1, sizeof(*idx));
	if (!idx) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		idx[i] = ARR(l, sec) + i * sec->size;
	}
	qsort_r(idx, n, sizeof(*idx), cmp_indirect, (void *)sec);
	for (size_t i = 1; i < n; i++) {
		if (sec->key_cmp(idx[i - 1], idx[i]) == 0) {
			const char *label = entry_label(sec, idx[i]);
			return lks_err(w->ctx, -LKS_E_PARSE,
			               "%s: %s[%zu] '%.200s' repeats the file "
			               "and key of another entry",
			               w->name, sec->key,
			               (size_t)(idx[i] - ARR(l, sec)) / sec->size,
			               label ? label : "");
		}
	}
	return 0;
}

int lks_lock_parse(struct lks_ctx *ctx, const char *data, size_t len, const char *name,
                   struct lks_lock *l)
{
	lks_lock_free(l);
	json_auto_t *root = NULL;
	int rc = lks_json_parse(ctx, data, len, 0, name, &root);
	if (rc < 0) {
		return rc == -LKS_E_TOOBIG ? rc : -LKS_E_PARSE;
	}
	struct where w = {.ctx = ctx, .name = name};
	if (!json_is_object(root)) {
		return lks_err(ctx, -LKS_E_PARSE, "%s: not a JSON object", name);
	}
	rc = parse_version(&w, root);
	for (size_t s = 0; rc == 0 && s < ARRAY_SIZE(sections); s++) {
		rc = parse_section(&w, &sections[s], json_object_get(root, sections[s].key), l);
	}
	for (size_t s = 0; rc == 0 && s < ARRAY_SIZE(sections); s++) {
		rc = check_unique(&w, &sections[s], l);
	}
	if (rc == 0) {
		lks_lock_sort(l);
	}
	if (rc < 0) {
		lks_lock_free(l);
	}
	return rc;
}

char *lks_lock_journal(const char *path)
{
	char *j = NULL;
	return asprintf(&j, "%s" LKS_COMMIT_SUFFIX, path) < 0 ? NULL : j;
}

int lks_lock_recover(struct lks_ctx *ctx, const char *path, const char *const *files, size_t n)
{
	_cleanup_free_ char *journal = lks_lock_journal(path);
	_cleanup_free_ const char **paths = calloc(n + 1, sizeof(*paths));
	if (!journal || !paths) {
		return -ENOMEM;
	}
	paths[0] = path;
	if (n) {
		memcpy(paths + 1, files, n * sizeof(*paths));
	}
	return lks_commit_recover(ctx, journal, paths, n + 1);
}

int lks_lock_load(struct lks_ctx *ctx, const char *path, struct lks_lock *l)
{
	struct lks_buf b;
	lks_buf_init(&b, LKS_JSON_MAX_BYTES);
	int rc = lks_read_file_optional(ctx, path, "lock file", &b);
	if (rc > 0) {
		rc = lks_lock_parse(ctx, b.data, b.len, path, l);
	}
	lks_buf_free(&b);
	return rc;
}

/* ---- serialising ---- */

static int dump_object(const struct field *fields, const void *p, json_t *obj);

static json_t *dump_list(const struct field *f, const void *p)
{
	json_t *arr = json_array();
	char **v = *CPTR(p, f->off, char **);
	size_t n = *CPTR(p, f->aux, size_t);
	for (size_t i = 0; arr && i < n; i++) {
		if (!v[i] || json_array_append_new(arr, json_string(v[i])) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *dump_platforms(const struct field *f, const void *p)
{
	json_t *arr = json_array();
	const struct lks_lock_platform *v = *CPTR(p, f->off, struct lks_lock_platform *);
	size_t n = *CPTR(p, f->aux, size_t);
	for (size_t i = 0; arr && i < n; i++) {
		json_t *o = json_object();
		if (!o || dump_object(platform_fields, &v[i], o) < 0 ||
		    json_array_append_new(arr, o) < 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static json_t *dump_time(time_t t)
{
	char s[21];
	lks_format_time(t, s);
	return json_string(s);
}

/* The JSON value of a field; *skip when it is absent. NULL on failure (invalid UTF-8). */
static json_t *dump_field(const struct field *f, const void *p, bool *skip)
{
	*skip = false;
	switch (f->type) {
	case F_LINE:
	case F_LINE_OPT:
		*skip = f->type == F_LINE_OPT && *CPTR(p, f->off, long) == 0;
		return *skip ? NULL : json_integer(*CPTR(p, f->off, long));
	case F_U64:
		return json_integer((json_int_t)*CPTR(p, f->off, uint64_t));
	case F_TIME:
		return dump_time(*CPTR(p, f->off, time_t));
	case F_TIME_OPT:
		*skip = !*CPTR(p, f->aux, bool);
		return *skip ? NULL : dump_time(*CPTR(p, f->off, time_t));
	case F_STRLIST:
	case F_DIGESTLIST:
		return dump_list(f, p);
	case F_PLATFORMS:
		return dump_platforms(f, p);
	default:
		*skip = *CPTR(p, f->off, char *) == NULL;
		return *skip ? NULL : json_string(*CPTR(p, f->off, char *));
	}
}

static int dump_object(const struct field *fields, const void *p, json_t *obj)
{
	for (const struct field *f = fields; f->key; f++) {
		bool skip;
		json_t *v = dump_field(f, p, &skip);
		if (skip) {
			continue;
		}
		if (!v || json_object_set_new(obj, f->key, v) < 0) {
			return -LKS_E_INVAL;
		}
	}
	return 0;
}

static int dump_section(struct lks_ctx *ctx, const struct section *sec, const struct lks_lock *l,
                        json_t *root)
{
	json_t *arr = json_array();
	if (!arr || json_object_set_new(root, sec->key, arr) < 0) {
		return -ENOMEM;
	}
	for (size_t i = 0; i < NUM(l, sec); i++) {
		const char *e = ARR(l, sec) + i * sec->size;
		json_t *obj = json_object();
		if (!obj || json_array_append_new(arr, obj) < 0) {
			return -ENOMEM;
		}
		if (dump_object(sec->fields, e, obj) < 0) {
			return lks_err(ctx, -LKS_E_INVAL,
			               "cannot write %s[%zu]: a string is not "
			               "valid UTF-8",
			               sec->key, i);
		}
	}
	return 0;
}

int lks_lock_dump(struct lks_ctx *ctx, struct lks_lock *l, struct lks_buf *out)
{
	lks_lock_sort(l);
	json_auto_t *root = json_object();
	if (!root ||
	    json_object_set_new(root, "lockfile_version", json_integer(LKS_LOCKFILE_VERSION)) < 0) {
		return lks_err(ctx, -ENOMEM, "out of memory");
	}
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		if (sections[s].omit_empty && NUM(l, &sections[s]) == 0) {
			continue;
		}
		int rc = dump_section(ctx, &sections[s], l, root);
		if (rc < 0) {
			return rc;
		}
	}
	size_t start = out->len;
	int rc = lks_json_dump_stable(ctx, root, out);
	if (rc < 0) {
		return rc;
	}
	/* Never write what would not load back: the same checks name the bad entry. */
	struct lks_lock check;
	lks_lock_init(&check);
	rc = lks_lock_parse(ctx, out->data + start, out->len - start, "new " LKS_LOCKFILE_NAME,
	                    &check);
	lks_lock_free(&check);
	return rc;
}

/* An unchanged lock is not rewritten: its mtime stays (no spurious rebuilds). */
static bool same_content(const char *path, const struct lks_buf *b)
{
	struct lks_buf old;
	lks_buf_init(&old, b->len + 1);
	bool same = lks_buf_read_file(&old, path) == 0 && old.len == b->len &&
	            (b->len == 0 || !memcmp(old.data, b->data, b->len));
	lks_buf_free(&old);
	return same;
}

int lks_lock_save(struct lks_ctx *ctx, const char *path, struct lks_lock *l)
{
	struct lks_buf b;
	lks_buf_init(&b, 0);
	int rc = lks_lock_dump(ctx, l, &b);
	if (rc == 0 && !same_content(path, &b)) {
		/* through a symlink: the rename must not replace the link */
		_cleanup_free_ char *real = realpath(path, NULL);
		rc = lks_write_file_atomic(ctx, real ? real : path, b.data, b.len, 0644);
	}
	lks_buf_free(&b);
	return rc;
}

/* ---- lookups and edits ---- */

struct lks_lock_image *lks_lock_find_image(struct lks_lock *l, const char *file,
                                           const char *written, long line)
{
	struct lks_lock_image *only = NULL;
	size_t same = 0;
	for (size_t i = 0; i < l->n_images; i++) {
		struct lks_lock_image *e = &l->images[i];
		if (strcmp0(e->file, file) || strcmp0(e->written, written)) {
			continue;
		}
		if (e->line == line) {
			return e;
		}
		only = e;
		same++;
	}
	return same == 1 ? only : NULL;
}

struct lks_lock_image *lks_lock_find_image_ref(struct lks_lock *l, const char *reference)
{
	for (size_t i = 0; i < l->n_images; i++) {
		if (!strcmp0(l->images[i].reference, reference)) {
			return &l->images[i];
		}
	}
	return NULL;
}

static int upsert(struct lks_ctx *ctx, struct lks_lock *l, const struct section *sec, void *e)
{
	char *arr = ARR(l, sec);
	size_t n = NUM(l, sec);
	*PTR(e, sec->stale_off, bool) = false;
	for (size_t i = 0; i < n; i++) {
		if (sec->key_cmp(arr + i * sec->size, e) == 0) {
			free_fields(sec->fields, arr + i * sec->size);
			memcpy(arr + i * sec->size, e, sec->size);
			memset(e, 0, sec->size);
			return 0;
		}
	}
	if (n >= LOCK_MAX_ENTRIES) {
		return lks_err(ctx, -LKS_E_TOOBIG, "too many %s entries", sec->key);
	}
	arr = realloc(arr, (n + 1) * sec->size);
	if (!arr) {
		return lks_err(ctx, -ENOMEM, "out of memory");
	}
	ARR(l, sec) = arr;
	memcpy(arr + n * sec->size, e, sec->size);
	memset(e, 0, sec->size);
	NUM(l, sec) = n + 1;
	return 0;
}

int lks_lock_upsert_image(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_image *e)
{
	return upsert(ctx, l, &sections[0], e);
}

int lks_lock_upsert_apt(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_apt *e)
{
	return upsert(ctx, l, &sections[1], e);
}

int lks_lock_upsert_python(struct lks_ctx *ctx, struct lks_lock *l, struct lks_lock_python *e)
{
	return upsert(ctx, l, &sections[2], e);
}

int lks_lock_upsert_dockerfile(struct lks_ctx *ctx, struct lks_lock *l,
                               struct lks_lock_dockerfile *e)
{
	return upsert(ctx, l, &sections[3], e);
}

int lks_lock_platforms(struct lks_ctx *ctx, const struct lks_lock *l, const char *file,
                       struct lks_platforms *out)
{
	memset(out, 0, sizeof(*out));
	const struct lks_lock_dockerfile *d = l ? lks_lock_find_dockerfile(l, file) : NULL;
	for (size_t i = 0; d && i < d->n_platforms; i++) {
		if (lks_platforms_add(ctx, out, d->platforms[i]) < 0) {
			char detail[sizeof(ctx->err)];
			snprintf(detail, sizeof(detail), "%s", ctx->err);
			return lks_err(ctx, -LKS_E_PARSE, "%s: dockerfiles '%s': %s",
			               LKS_LOCKFILE_NAME, file, detail);
		}
	}
	return out->n ? 0 : lks_platforms_add(ctx, out, LKS_PLATFORMS_DEFAULT);
}

const struct lks_lock_dockerfile *lks_lock_find_dockerfile(const struct lks_lock *l,
                                                           const char *file)
{
	for (size_t i = 0; i < l->n_dockerfiles; i++) {
		if (!strcmp0(l->dockerfiles[i].file, file)) {
			return &l->dockerfiles[i];
		}
	}
	return NULL;
}

void lks_lock_mark_file(struct lks_lock *l, const char *file, unsigned kinds)
{
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		const struct section *sec = &sections[s];
		if (!(kinds & (1u << s))) {
			continue;
		}
		for (size_t i = 0; i < NUM(l, sec); i++) {
			char *e = ARR(l, sec) + i * sec->size;
			if (!strcmp0(*PTR(e, sec->file_off, char *), file)) {
				*PTR(e, sec->stale_off, bool) = true;
			}
		}
	}
}

static size_t sweep_section(struct lks_lock *l, const struct section *sec, const char *file)
{
	char *arr = ARR(l, sec);
	size_t kept = 0, n = NUM(l, sec);
	for (size_t i = 0; i < n; i++) {
		char *e = arr + i * sec->size;
		if (*PTR(e, sec->stale_off, bool) &&
		    !strcmp0(*PTR(e, sec->file_off, char *), file)) {
			free_fields(sec->fields, e);
			continue;
		}
		if (kept != i) {
			memcpy(arr + kept * sec->size, e, sec->size);
		}
		kept++;
	}
	NUM(l, sec) = kept;
	return n - kept;
}

size_t lks_lock_sweep_file(struct lks_lock *l, const char *file, unsigned kinds)
{
	size_t removed = 0;
	for (size_t s = 0; s < ARRAY_SIZE(sections); s++) {
		if (kinds & (1u << s)) {
			removed += sweep_section(l, &sections[s], file);
		}
	}
	return removed;
}

size_t lks_lock_remove_file(struct lks_lock *l, const char *file)
{
	lks_lock_mark_file(l, file, LKS_LOCK_ALL);
	return lks_lock_sweep_file(l, file, LKS_LOCK_ALL);
}
