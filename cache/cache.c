/* The sqlite cache: the only file that calls sqlite.
 *
 * Concurrency: several lockstep processes may share one cache. WAL lets readers run beside a
 * writer; every write runs in BEGIN IMMEDIATE so the write lock is taken up front (a deferred
 * transaction that upgrades later can fail with SQLITE_BUSY without waiting), and BUSY is
 * retried on top of the busy timeout. synchronous=NORMAL is safe with WAL (no corruption, at
 * worst the last commits lost on power failure), which is right for a cache.
 */
#include <errno.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include "common/dynlib.h"
#include "lockstep/cache.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define CACHE_BUSY_TIMEOUT_MS 10000
#define CACHE_BUSY_RETRIES 50

/* sqlite is loaded when the cache is first opened (common/dynlib.h): commands that never touch
 * the cache (check, --help, --version) start without it. Every call goes through this table. */
#define SQLITE_FNS(X)                                                                              \
	X(bind_blob64) X(bind_int64) X(bind_null) X(bind_text) X(busy_timeout) X(close_v2)         \
	X(column_blob) X(column_bytes) X(column_int) X(column_int64) X(column_text) X(errmsg)      \
	X(errstr) X(exec) X(extended_result_codes) X(finalize) X(open_v2) X(prepare_v2) X(reset)   \
	X(sql) X(step)

static struct {
#define X(f) __typeof__(sqlite3_##f) *f;
	SQLITE_FNS(X)
#undef X
} sq;

static const struct dynlib_sym sqlite_syms[] = {
#define X(f) {"sqlite3_" #f, &sq.f},
    SQLITE_FNS(X)
#undef X
};

static struct dynlib sqlite_lib = DYNLIB_INIT(LKS_LIBSQLITE_SONAME, sqlite_syms);

static void stmt_finalize(sqlite3_stmt *st)
{
	sq.finalize(st);
}
DEFINE_CLEANUP_FUNC(sqlite3_stmt, stmt_finalize)

struct lks_cache {
	sqlite3 *db;
	char *dir;
	char *path;
};

static const char schema_sql[] =
    "CREATE TABLE IF NOT EXISTS kv(ns TEXT NOT NULL, key TEXT NOT NULL, value BLOB NOT NULL,"
    " stored_at INTEGER NOT NULL, PRIMARY KEY(ns, key));"
    "CREATE TABLE IF NOT EXISTS http(url TEXT PRIMARY KEY, etag TEXT, last_modified TEXT,"
    " body BLOB NOT NULL, content_type TEXT, fetched_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS seen(kind TEXT NOT NULL, name TEXT NOT NULL,"
    " version TEXT NOT NULL, first_seen INTEGER NOT NULL, PRIMARY KEY(kind, name, version));"
    "PRAGMA user_version = 1;";

int lks_cache_dir(struct lks_ctx *ctx, struct lks_buf *out)
{
	lks_buf_reset(out);
	if (ctx->cache_dir && ctx->cache_dir[0]) {
		return lks_buf_puts(out, ctx->cache_dir);
	}
	/* XDG: a relative XDG_CACHE_HOME is invalid and must be ignored. */
	const char *xdg = getenv("XDG_CACHE_HOME");
	if (xdg && xdg[0] == '/') {
		return lks_buf_printf(out, "%s/lockstep", xdg);
	}
	const char *home = getenv("HOME");
	if (home && home[0] == '/') {
		return lks_buf_printf(out, "%s/.cache/lockstep", home);
	}
	return lks_err(
	    ctx, -LKS_E_INVAL,
	    "cannot find a cache directory: set XDG_CACHE_HOME or HOME, or use --cache-dir");
}

static int mkdir_p(struct lks_ctx *ctx, const char *dir)
{
	_cleanup_free_ char *copy = strdup(dir);
	if (!copy) {
		return -ENOMEM;
	}
	for (char *p = copy + 1;; p++) {
		if (*p != '/' && *p != '\0') {
			continue;
		}
		char saved = *p;
		*p = '\0';
		if (mkdir(copy, 0700) < 0 && errno != EEXIST) {
			return lks_err(ctx, -errno, "cannot create cache directory '%s': %s", copy,
			               strerror(errno));
		}
		*p = saved;
		if (saved == '\0') {
			break;
		}
	}
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
		return lks_err(ctx, -ENOTDIR, "cache directory '%s' is not a directory", dir);
	}
	return 0;
}

static int db_fail(struct lks_ctx *ctx, struct lks_cache *c, int rc, const char *what)
{
	const char *msg = c->db ? sq.errmsg(c->db) : sq.errstr(rc);
	switch (rc & 0xff) {
	case SQLITE_NOTADB:
	case SQLITE_CORRUPT:
		return lks_err(ctx, -LKS_E_DB, "cache database '%s' is damaged (%s); remove it",
		               c->path, msg);
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return lks_err(ctx, -LKS_E_DB,
		               "cache database '%s' stayed locked by another "
		               "process: %s",
		               c->path, msg);
	case SQLITE_CANTOPEN:
	case SQLITE_READONLY:
	case SQLITE_PERM:
		return lks_err(ctx, -LKS_E_DB, "cannot open cache database '%s': %s", c->path, msg);
	default:
		return lks_err(ctx, -LKS_E_DB, "cache database '%s': %s failed: %s", c->path, what,
		               msg);
	}
}

/* IOERR_DELETE_NOENT: two processes switching a new file to WAL both delete its rollback
 * journal; the loser may simply try again. */
static bool is_busy(int rc)
{
	return (rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED ||
	       rc == SQLITE_IOERR_DELETE_NOENT;
}

static void backoff(int attempt)
{
	usleep((useconds_t)(attempt < 10 ? 1000 * (attempt + 1) : 20000));
}

/* exec with retries: the busy timeout does not cover every BUSY (e.g. WAL recovery). */
static int exec_retry(struct lks_ctx *ctx, struct lks_cache *c, const char *sql)
{
	for (int attempt = 0;; attempt++) {
		int rc = sq.exec(c->db, sql, NULL, NULL, NULL);
		if (rc == SQLITE_OK) {
			return 0;
		}
		if (!is_busy(rc) || attempt >= CACHE_BUSY_RETRIES) {
			return db_fail(ctx, c, rc, sql);
		}
		backoff(attempt);
	}
}

/* One step: SQLITE_ROW, SQLITE_DONE, or a negative error. */
static int step(struct lks_ctx *ctx, struct lks_cache *c, sqlite3_stmt *st)
{
	for (int attempt = 0;; attempt++) {
		int rc = sq.step(st);
		if (rc == SQLITE_ROW || rc == SQLITE_DONE) {
			return rc;
		}
		if (!is_busy(rc) || attempt >= CACHE_BUSY_RETRIES) {
			return db_fail(ctx, c, rc, sq.sql(st));
		}
		sq.reset(st);
		backoff(attempt);
	}
}

static int prepare(struct lks_ctx *ctx, struct lks_cache *c, const char *sql, sqlite3_stmt **st)
{
	for (int attempt = 0;; attempt++) {
		int rc = sq.prepare_v2(c->db, sql, -1, st, NULL);
		if (rc == SQLITE_OK) {
			return 0;
		}
		if (!is_busy(rc) || attempt >= CACHE_BUSY_RETRIES) {
			return db_fail(ctx, c, rc, sql);
		}
		backoff(attempt);
	}
}

static int user_version(struct lks_ctx *ctx, struct lks_cache *c, int *v)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = prepare(ctx, c, "PRAGMA user_version", &st);
	if (rc < 0) {
		return rc;
	}
	rc = step(ctx, c, st);
	if (rc < 0) {
		return rc;
	}
	*v = rc == SQLITE_ROW ? sq.column_int(st, 0) : 0;
	return 0;
}

static int check_version(struct lks_ctx *ctx, struct lks_cache *c, int v)
{
	if (v > LKS_CACHE_SCHEMA_VERSION || v < 0) {
		return lks_err(ctx, -LKS_E_VERSION,
		               "cache schema %d is newer than this lockstep supports; remove %s or "
		               "upgrade",
		               v, c->dir);
	}
	return 0;
}

static int write_end(struct lks_ctx *ctx, struct lks_cache *c, int rc)
{
	if (rc < 0) {
		sq.exec(c->db, "ROLLBACK", NULL, NULL, NULL);
		return rc;
	}
	rc = exec_retry(ctx, c, "COMMIT");
	if (rc < 0) {
		sq.exec(c->db, "ROLLBACK", NULL, NULL, NULL);
	}
	return rc;
}

/* Version 0 is a new file; creating the schema races with other processes, hence the
 * re-check inside the write transaction. */
static int setup_schema(struct lks_ctx *ctx, struct lks_cache *c)
{
	int v = 0;
	int rc = user_version(ctx, c, &v);
	if (rc < 0 || (rc = check_version(ctx, c, v)) < 0) {
		return rc;
	}
	rc = exec_retry(ctx, c, "PRAGMA journal_mode=WAL");
	if (rc < 0 || (rc = exec_retry(ctx, c, "PRAGMA synchronous=NORMAL")) < 0) {
		return rc;
	}
	if (v == LKS_CACHE_SCHEMA_VERSION) {
		return 0;
	}
	rc = exec_retry(ctx, c, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	rc = user_version(ctx, c, &v);
	if (rc == 0) {
		rc = check_version(ctx, c, v);
	}
	if (rc == 0 && v == 0) {
		rc = exec_retry(ctx, c, schema_sql);
	}
	return write_end(ctx, c, rc);
}

void lks_cache_close(struct lks_cache *c)
{
	if (!c) {
		return;
	}
	if (c->db) {
		sq.close_v2(c->db);
	}
	free(c->dir);
	free(c->path);
	free(c);
}
DEFINE_CLEANUP_FUNC(struct lks_cache, lks_cache_close)

static int cache_new(struct lks_ctx *ctx, struct lks_cache **out)
{
	_cleanup_(lks_cache_closep) struct lks_cache *c = calloc(1, sizeof(*c));
	if (!c) {
		return -ENOMEM;
	}
	struct lks_buf dir;
	lks_buf_init(&dir, 8192);
	int rc = lks_cache_dir(ctx, &dir);
	if (rc < 0) {
		lks_buf_free(&dir);
		return rc;
	}
	c->dir = lks_buf_detach(&dir);
	size_t n = strlen(c->dir) + sizeof("/cache.sqlite");
	c->path = malloc(n);
	if (!c->dir || !c->path) {
		return -ENOMEM;
	}
	snprintf(c->path, n, "%s/cache.sqlite", c->dir);
	*out = TAKE_PTR(c);
	return 0;
}

int lks_cache_open(struct lks_ctx *ctx, struct lks_cache **out)
{
	if (ctx->cache) {
		*out = ctx->cache;
		return 0;
	}
	_cleanup_(lks_cache_closep) struct lks_cache *c = NULL;
	int rc = dynlib_load(ctx, &sqlite_lib, "the cache");
	if (rc < 0) {
		return rc;
	}
	rc = cache_new(ctx, &c);
	if (rc < 0 || (rc = mkdir_p(ctx, c->dir)) < 0) {
		return rc;
	}
	rc = sq.open_v2(c->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		return db_fail(ctx, c, rc, "open");
	}
	sq.extended_result_codes(c->db, 1);
	sq.busy_timeout(c->db, CACHE_BUSY_TIMEOUT_MS);
	rc = setup_schema(ctx, c);
	if (rc < 0) {
		return rc;
	}
	ctx->cache = c;
	ctx->cache_close = lks_cache_close;
	*out = TAKE_PTR(c);
	return 0;
}

static void bind_str(sqlite3_stmt *st, int i, const char *s)
{
	if (s) {
		sq.bind_text(st, i, s, -1, SQLITE_STATIC);
	} else {
		sq.bind_null(st, i);
	}
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	/* A NULL pointer would bind SQL NULL, not an empty blob. */
	sq.bind_blob64(st, i, n ? p : "", n, SQLITE_STATIC);
}

/* Prepare, then BEGIN IMMEDIATE, run the caller's bound statement to completion, COMMIT. */
static int write_stmt(struct lks_ctx *ctx, struct lks_cache *c, sqlite3_stmt *st)
{
	int rc = exec_retry(ctx, c, "BEGIN IMMEDIATE");
	if (rc < 0) {
		return rc;
	}
	do {
		rc = step(ctx, c, st);
	} while (rc == SQLITE_ROW);
	return write_end(ctx, c, rc < 0 ? rc : 0);
}

static int column_into(sqlite3_stmt *st, int col, struct lks_buf *out)
{
	const void *p = sq.column_blob(st, col);
	int n = sq.column_bytes(st, col);
	return lks_buf_append(out, p ? p : "", p ? (size_t)n : 0);
}

int lks_cache_get(struct lks_ctx *ctx, const char *ns, const char *key, struct lks_buf *val,
                  time_t *stored_at)
{
	if (ctx->refresh) {
		return lks_err(ctx, -LKS_E_NOTFOUND, "cached %s '%s' ignored (--refresh)", ns, key);
	}
	struct lks_cache *c;
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = lks_cache_open(ctx, &c);
	if (rc < 0 ||
	    (rc = prepare(ctx, c, "SELECT value, stored_at FROM kv WHERE ns=?1 AND key=?2", &st)) <
	        0) {
		return rc;
	}
	bind_str(st, 1, ns);
	bind_str(st, 2, key);
	rc = step(ctx, c, st);
	if (rc < 0) {
		return rc;
	}
	if (rc == SQLITE_DONE) {
		return lks_err(ctx, -LKS_E_NOTFOUND, "no cached %s '%s'", ns, key);
	}
	if (column_into(st, 0, val) < 0) {
		return lks_err(ctx, -LKS_E_TOOBIG, "cached %s '%s' does not fit in %zu bytes", ns,
		               key, val->max);
	}
	if (stored_at) {
		*stored_at = (time_t)sq.column_int64(st, 1);
	}
	return 0;
}

int lks_cache_put(struct lks_ctx *ctx, const char *ns, const char *key, const void *val, size_t len)
{
	if (len > LKS_CACHE_MAX_VALUE) {
		return lks_err(ctx, -LKS_E_TOOBIG, "cannot cache %s '%s': %zu bytes is too large",
		               ns, key, len);
	}
	struct lks_cache *c;
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = lks_cache_open(ctx, &c);
	if (rc < 0 || (rc = prepare(ctx, c,
	                            "INSERT OR REPLACE INTO kv(ns, key, value, stored_at) "
	                            "VALUES(?1, ?2, ?3, ?4)",
	                            &st)) < 0) {
		return rc;
	}
	bind_str(st, 1, ns);
	bind_str(st, 2, key);
	bind_blob(st, 3, val, len);
	sq.bind_int64(st, 4, (sqlite3_int64)lks_now(ctx));
	return write_stmt(ctx, c, st);
}

int lks_cache_delete(struct lks_ctx *ctx, const char *ns, const char *key)
{
	struct lks_cache *c;
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = lks_cache_open(ctx, &c);
	if (rc < 0 || (rc = prepare(ctx, c, "DELETE FROM kv WHERE ns=?1 AND key=?2", &st)) < 0) {
		return rc;
	}
	bind_str(st, 1, ns);
	bind_str(st, 2, key);
	return write_stmt(ctx, c, st);
}

/* ---- HTTP responses ---- */

void lks_cache_http_init(struct lks_cache_http *h)
{
	memset(h, 0, sizeof(*h));
	lks_buf_init(&h->body, 0);
}

void lks_cache_http_free(struct lks_cache_http *h)
{
	free(h->etag);
	free(h->last_modified);
	free(h->content_type);
	h->etag = h->last_modified = h->content_type = NULL;
	lks_buf_free(&h->body);
	h->fetched_at = 0;
}

static bool is_credential_param(const char *p, size_t n)
{
	static const char *const names[] = {
	    "token",
	    "access_token",
	    "x-amz-signature",
	    "x-amz-credential",
	    "x-amz-security-token",
	    "signature",
	    "sig",
	    "password",
	};
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		if (strlen(names[i]) == n && strncasecmp(p, names[i], n) == 0) {
			return true;
		}
	}
	return false;
}

static bool query_has_credential(const char *q, size_t n)
{
	size_t i = 0;
	while (i < n) {
		size_t len = strcspn(q + i, "&;#");
		if (len > n - i) {
			len = n - i;
		}
		size_t name = strcspn(q + i, "=&;#");
		if (is_credential_param(q + i, name < len ? name : len)) {
			return true;
		}
		i += len + 1;
	}
	return false;
}

/* Where the authority starts: after "scheme:" and its slashes (curl accepts one to three), or
 * at the start when there is no scheme ("user:pass@host/x" has none). */
static const char *authority_of(const char *url)
{
	size_t n = strspn(url, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	if (n == 0 || url[n] != ':' || url[n + 1] != '/') {
		return url;
	}
	const char *p = url + n + 1;
	while (*p == '/') {
		p++;
	}
	return p;
}

static int strip_once(const char *url, struct lks_buf *out)
{
	lks_buf_reset(out);
	const char *auth = authority_of(url);
	size_t alen = strcspn(auth, "/?#");
	const char *at = memrchr(auth, '@', alen);
	const char *host = at ? at + 1 : auth;
	const char *rest = auth + alen;
	size_t rlen = strcspn(rest, "#");
	const char *q = memchr(rest, '?', rlen);
	if (q && query_has_credential(q + 1, rlen - (size_t)(q + 1 - rest))) {
		return -LKS_E_UNSAFE;
	}
	int rc = lks_buf_append(out, url, (size_t)(auth - url));
	if (rc == 0) {
		rc = lks_buf_append(out, host, (size_t)(rest - host));
	}
	if (rc == 0) {
		rc = lks_buf_append(out, rest, rlen);
	}
	return rc;
}

/* Stripping can expose a new "scheme:" in garbage ("@x://u@h"), so repeat until stable; a
 * URL that keeps changing is not cached at all. */
int lks_cache_url_key(const char *url, struct lks_buf *out)
{
	struct lks_buf prev;
	lks_buf_init(&prev, 0);
	int rc = strip_once(url, out);
	for (int pass = 0; rc == 0; pass++) {
		if (pass == 4) {
			rc = -LKS_E_UNSAFE;
			break;
		}
		if ((rc = lks_buf_append(&prev, out->data, out->len)) < 0 ||
		    (rc = strip_once(prev.data, out)) < 0 || !strcmp(prev.data, out->data)) {
			break;
		}
		lks_buf_reset(&prev);
	}
	lks_buf_free(&prev);
	return rc;
}

static char *column_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *s = sq.column_text(st, col);
	return s ? strdup((const char *)s) : NULL;
}

static int http_row(struct lks_ctx *ctx, sqlite3_stmt *st, const char *url,
                    struct lks_cache_http *out)
{
	size_t max = out->body.max;
	lks_cache_http_free(out);
	lks_buf_init(&out->body, max);
	out->etag = column_strdup(st, 0);
	out->last_modified = column_strdup(st, 1);
	out->content_type = column_strdup(st, 3);
	out->fetched_at = (time_t)sq.column_int64(st, 4);
	if (column_into(st, 2, &out->body) < 0) {
		return lks_err(ctx, -LKS_E_TOOBIG,
		               "cached response for '%s' does not fit in %zu "
		               "bytes",
		               url, out->body.max);
	}
	return 0;
}

int lks_cache_http_get(struct lks_ctx *ctx, const char *url, struct lks_cache_http *out)
{
	struct lks_buf key;
	lks_buf_init(&key, 0);
	int rc = lks_cache_url_key(url, &key);
	if (rc < 0 || ctx->refresh) {
		lks_buf_free(&key);
		return lks_err(ctx, -LKS_E_NOTFOUND, "no cached response for this URL");
	}
	struct lks_cache *c;
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	rc = lks_cache_open(ctx, &c);
	if (rc == 0) {
		rc = prepare(ctx, c,
		             "SELECT etag, last_modified, body, content_type, fetched_at "
		             "FROM http WHERE url=?1",
		             &st);
	}
	if (rc == 0) {
		bind_str(st, 1, key.data);
		rc = step(ctx, c, st);
	}
	if (rc == SQLITE_DONE) {
		rc = lks_err(ctx, -LKS_E_NOTFOUND, "no cached response for '%s'", key.data);
	} else if (rc == SQLITE_ROW) {
		rc = http_row(ctx, st, key.data, out);
	}
	lks_buf_free(&key);
	return rc;
}

int lks_cache_http_put(struct lks_ctx *ctx, const char *url, const struct lks_cache_http *resp)
{
	if (resp->body.len > LKS_CACHE_MAX_VALUE) {
		return lks_err(ctx, -LKS_E_TOOBIG, "cannot cache a %zu-byte response",
		               resp->body.len);
	}
	struct lks_buf key;
	lks_buf_init(&key, 0);
	if (lks_cache_url_key(url, &key) < 0) {
		lks_buf_free(&key); /* carries a credential: deliberately not cached */
		return 0;
	}
	struct lks_cache *c;
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = lks_cache_open(ctx, &c);
	if (rc == 0) {
		rc = prepare(ctx, c,
		             "INSERT OR REPLACE INTO http(url, etag, last_modified, body, "
		             "content_type, fetched_at) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
		             &st);
	}
	if (rc == 0) {
		bind_str(st, 1, key.data);
		bind_str(st, 2, resp->etag);
		bind_str(st, 3, resp->last_modified);
		bind_blob(st, 4, resp->body.data, resp->body.len);
		bind_str(st, 5, resp->content_type);
		sq.bind_int64(st, 6, resp->fetched_at ? resp->fetched_at : lks_now(ctx));
		rc = write_stmt(ctx, c, st);
	}
	lks_buf_free(&key);
	return rc;
}

/* ---- first-seen ages ---- */

static int seen_upsert(struct lks_ctx *ctx, struct lks_cache *c, const char *const k[3],
                       time_t when)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = prepare(ctx, c,
	                 "INSERT INTO seen(kind, name, version, first_seen) VALUES(?1, ?2, ?3, ?4) "
	                 "ON CONFLICT(kind, name, version) DO UPDATE SET "
	                 "first_seen = min(first_seen, excluded.first_seen)",
	                 &st);
	if (rc < 0) {
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		bind_str(st, i + 1, k[i]);
	}
	sq.bind_int64(st, 4, (sqlite3_int64)when);
	rc = step(ctx, c, st);
	return rc < 0 ? rc : 0;
}

static int seen_select(struct lks_ctx *ctx, struct lks_cache *c, const char *const k[3],
                       time_t *first_seen)
{
	_cleanup_(stmt_finalizep) sqlite3_stmt *st = NULL;
	int rc = prepare(ctx, c,
	                 "SELECT first_seen FROM seen WHERE kind=?1 AND name=?2 AND "
	                 "version=?3",
	                 &st);
	if (rc < 0) {
		return rc;
	}
	for (int i = 0; i < 3; i++) {
		bind_str(st, i + 1, k[i]);
	}
	rc = step(ctx, c, st);
	if (rc == SQLITE_ROW) {
		*first_seen = (time_t)sq.column_int64(st, 0);
		return 0;
	}
	return rc < 0 ? rc : lks_err(ctx, -LKS_E_DB, "first-seen row for '%s' vanished", k[1]);
}

int lks_cache_seen(struct lks_ctx *ctx, const char *kind, const char *name, const char *version,
                   time_t when, time_t *first_seen)
{
	const char *const k[3] = {kind, name, version};
	if (!kind || !name || !version) {
		return lks_err(ctx, -LKS_E_INVAL,
		               "first-seen record needs a kind, name and version");
	}
	struct lks_cache *c;
	int rc = lks_cache_open(ctx, &c);
	if (rc < 0 || (rc = exec_retry(ctx, c, "BEGIN IMMEDIATE")) < 0) {
		return rc;
	}
	time_t earliest = when;
	rc = seen_upsert(ctx, c, k, when);
	if (rc == 0) {
		rc = seen_select(ctx, c, k, &earliest);
	}
	rc = write_end(ctx, c, rc);
	if (rc == 0 && first_seen) {
		*first_seen = earliest;
	}
	return rc;
}
