/* HTTP client tests against tests/servers/faultproxy.py on 127.0.0.1 (real sockets, real curl). */
#include <criterion/criterion.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <jansson.h>
#include "common/http_parse.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"
#include "lockstep/http.h"

static pid_t pids[4];
static int n_pids;
static pid_t proxy_pid = -1;
static int proxy_port;
static char tmpdir[PATH_MAX];
static struct lks_ctx ctx;

static const char *srcdir(void)
{
	const char *s = getenv("LKS_SRCDIR");
	return s ? s : ".";
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Start a fault proxy with the given rules and extra arguments (NULL-terminated); waits for
 * its port file and returns the port. The first one started is the test's main proxy. */
static int proxy_spawn(const char *rules, const char *const *extra)
{
	char pf[PATH_MAX + 32], script[PATH_MAX];
	const char *argv[24];
	int argc = 0;
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/lks-test-http-XXXXXX");
		cr_assert_not_null(mkdtemp(tmpdir));
	}
	snprintf(pf, sizeof(pf), "%s/port%d", tmpdir, n_pids);
	snprintf(script, sizeof(script), "%s/tests/servers/faultproxy.py", srcdir());
	/* Debian's interpreter (TESTBED.md); a pyenv shim on PATH costs ~0.3 s per start */
	const char *py = access("/usr/bin/python3", X_OK) == 0 ? "/usr/bin/python3" : "python3";
	argv[argc++] = py;
	argv[argc++] = script;
	argv[argc++] = "--port-file";
	argv[argc++] = pf;
	argv[argc++] = "--rules";
	argv[argc++] = rules ? rules : "[]";
	for (int i = 0; extra && extra[i] && argc < 22; i++) {
		argv[argc++] = extra[i];
	}
	argv[argc] = NULL;
	cr_assert(n_pids < (int)(sizeof(pids) / sizeof(pids[0])));
	pid_t pid = fork();
	cr_assert(pid >= 0);
	if (pid == 0) {
		freopen("/dev/null", "w", stdout);
		execvp(py, (char **)argv);
		_exit(127);
	}
	pids[n_pids++] = pid;
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(pf, "r");
		int port = 0;
		if (f) {
			int ok = fscanf(f, "%d", &port);
			fclose(f);
			unlink(pf);
			cr_assert_eq(ok, 1);
			return port;
		}
		usleep(25000);
	}
	cr_assert_fail("fault proxy did not start (python3 %s)", script);
	return -1;
}

/* The main proxy: serves fixtures/http. */
static void proxy_start(const char *rules)
{
	char root[PATH_MAX];
	snprintf(root, sizeof(root), "%s/fixtures/http", srcdir());
	proxy_port = proxy_spawn(rules, (const char *const[]){"--root", root, NULL});
	proxy_pid = pids[n_pids - 1];
}

static void proxy_stop_all(void)
{
	for (int i = 0; i < n_pids; i++) {
		if (pids[i] > 0) {
			kill(pids[i], SIGTERM);
			waitpid(pids[i], NULL, 0);
		}
	}
	n_pids = 0;
	proxy_pid = -1;
}

static void setup(void)
{
	lks_ctx_init(&ctx);
	ctx.http_timeout_ms = 5000;
	ctx.http_connect_timeout_ms = 2000;
	ctx.http_max_retries = 2;
}

static void teardown(void)
{
	lks_ctx_free(&ctx);
	proxy_stop_all();
	if (tmpdir[0]) {
		char cmd[PATH_MAX + 16];
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		cr_expect_eq(system(cmd), 0);
	}
}

static char *url(const char *path)
{
	static char buf[8][600];
	static int i;
	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "http://127.0.0.1:%d%s", proxy_port, path);
	return buf[i];
}

/* Run one request; returns lks_http_run's result. */
static int run1(struct lks_http_req *r)
{
	return lks_http_run(&ctx, (struct lks_http_req *[]){r}, 1);
}

TestSuite(http, .init = setup, .fini = teardown, .timeout = 30);

Test(http, get_and_head)
{
	proxy_start(NULL);
	struct lks_http_req g, h;
	lks_http_req_init(&g, LKS_HTTP_GET, url("/hello.txt"));
	lks_http_req_init(&h, LKS_HTTP_HEAD, url("/hello.txt"));
	cr_assert_eq(lks_http_req_header(&g, "Accept: text/plain"), 0);
	cr_assert_eq(lks_http_req_header(&g, "X-Evil: a\r\nInjected: b"), -LKS_E_INVAL);
	cr_assert_eq(lks_http_run(&ctx, (struct lks_http_req *[]){&g, &h}, 2), 0, "%s", ctx.err);
	cr_assert_eq(g.status, 200);
	cr_assert_eq(g.rc, 0);
	cr_assert_eq(g.attempts, 1);
	cr_assert_str_eq(g.body.data, "hello world\n");
	cr_assert_str_eq(lks_http_req_get_header(&g, "Content-Length"), "12");
	cr_assert_str_eq(lks_http_req_get_header(&g, "content-type"), "application/octet-stream");
	cr_assert_null(lks_http_req_get_header(&g, "x-absent"));
	cr_assert_str_eq(g.effective_url, url("/hello.txt"));
	cr_assert_eq(h.status, 200);
	cr_assert_eq(h.body.len, 0);
	cr_assert_str_eq(lks_http_req_get_header(&h, "content-length"), "12");
	lks_http_req_free(&g);
	lks_http_req_free(&h);
}

Test(http, not_found_is_http_level)
{
	proxy_start(NULL);
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/missing"));
	cr_assert_eq(run1(&r), 0);
	cr_assert_eq(r.status, 404);
	cr_assert_eq(r.rc, -LKS_E_NOTFOUND);
	cr_assert_eq(r.attempts, 1, "404 must not be retried");
	cr_assert(strstr(r.errdetail, "404"), "%s", r.errdetail);
	lks_http_req_free(&r);
}

Test(http, parallel_many)
{
	proxy_start(NULL);
	enum { N = 40 };
	struct lks_http_req r[N];
	struct lks_http_req *p[N];
	ctx.http_parallel = 6;
	for (int i = 0; i < N; i++) {
		char path[64];
		if (i % 2) {
			snprintf(path, sizeof(path), "/f%d.txt", i % 10);
		} else {
			snprintf(path, sizeof(path), "/_fault/bytes/%d", i * 1000);
		}
		lks_http_req_init(&r[i], LKS_HTTP_GET, url(path));
		p[i] = &r[i];
	}
	double t0 = now_s();
	cr_assert_eq(lks_http_run(&ctx, p, N), 0, "%s", ctx.err);
	fprintf(stderr, "# %d parallel GETs in %.3f s\n", N, now_s() - t0);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(r[i].status, 200, "request %d: %ld %s", i, r[i].status,
		             r[i].errdetail);
		if (i % 2) {
			char want[32];
			snprintf(want, sizeof(want), "file %d\n", i % 10);
			cr_assert_str_eq(r[i].body.data, want);
		} else {
			cr_assert_eq(r[i].body.len, (size_t)i * 1000);
			for (size_t k = 0; k < r[i].body.len; k++) {
				cr_assert_eq((unsigned char)r[i].body.data[k], k % 251);
			}
		}
		lks_http_req_free(&r[i]);
	}
}

Test(http, retry_after_429_then_success)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"status\",\"status\":429,"
	            "\"retry_after\":\"1\",\"times\":1}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	double t0 = now_s();
	cr_assert_eq(run1(&r), 0, "%s", ctx.err);
	double dt = now_s() - t0;
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.attempts, 2);
	cr_assert_str_eq(r.body.data, "hello world\n", "retried body must start empty");
	cr_assert_null(lks_http_req_get_header(&r, "retry-after"), "headers of the last response");
	cr_assert(dt >= 0.95 && dt < 3.0, "Retry-After: 1 not honoured: waited %.3f s", dt);
	lks_http_req_free(&r);
}

Test(http, server_error_then_success)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"status\",\"status\":500,"
	            "\"body\":\"oops\",\"times\":2}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	cr_assert_eq(run1(&r), 0, "%s", ctx.err);
	cr_assert_eq(r.status, 200);
	cr_assert_eq(r.rc, 0);
	cr_assert_eq(r.attempts, 3);
	cr_assert_str_eq(r.body.data, "hello world\n");
	lks_http_req_free(&r);
}

Test(http, retries_exhausted)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"status\",\"status\":503,"
	            "\"retry_after\":\"0\"}]");
	struct lks_http_req r, once;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt?token=secret"));
	lks_http_req_init(&once, LKS_HTTP_GET, url("/hello.txt"));
	once.no_retry = true;
	cr_assert_eq(lks_http_run(&ctx, (struct lks_http_req *[]){&r, &once}, 2), 0);
	cr_assert_eq(r.status, 503);
	cr_assert_eq(r.rc, -LKS_E_HTTP);
	cr_assert_eq(r.attempts, 3, "1 + http_max_retries attempts, got %d", r.attempts);
	cr_assert(strstr(r.errdetail, "503"), "%s", r.errdetail);
	cr_assert_null(strstr(r.errdetail, "secret"), "query leaked: %s", r.errdetail);
	cr_assert_eq(once.attempts, 1);
	cr_assert_eq(once.status, 503);
	lks_http_req_free(&r);
	lks_http_req_free(&once);
}

Test(http, hanging_connection_times_out)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"hang\",\"seconds\":20}]");
	ctx.http_timeout_ms = 1000;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	double t0 = now_s();
	int rc = run1(&r);
	double dt = now_s() - t0;
	cr_assert_eq(rc, -LKS_E_TIMEOUT, "rc %d: %s", rc, ctx.err);
	cr_assert_eq(r.rc, -LKS_E_TIMEOUT);
	cr_assert(strstr(ctx.err, "timed out after"), "%s", ctx.err);
	cr_assert(strstr(ctx.err, "/hello.txt"), "%s", ctx.err);
	cr_assert(dt >= 0.9 && dt < 2.5, "timeout 1 s took %.3f s", dt);
	lks_http_req_free(&r);
}

Test(http, stalled_body_times_out)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"hang_body\",\"keep\":3,\"seconds\":20}]");
	ctx.http_timeout_ms = 1000;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	cr_assert_eq(run1(&r), -LKS_E_TIMEOUT, "%s", ctx.err);
	lks_http_req_free(&r);
}

Test(http, truncated_body_is_an_error)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"truncate\",\"keep\":5}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	int rc = run1(&r);
	cr_assert_eq(rc, -LKS_E_NET, "rc %d: %s", rc, ctx.err);
	cr_assert_eq(r.rc, -LKS_E_NET);
	cr_assert(strstr(r.errdetail, "truncated"), "%s", r.errdetail);
	cr_assert_eq(r.attempts, 3, "truncation is retried, got %d attempts", r.attempts);
	lks_http_req_free(&r);
}

Test(http, truncate_once_then_success)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"truncate\",\"times\":1}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	cr_assert_eq(run1(&r), 0, "%s", ctx.err);
	cr_assert_str_eq(r.body.data, "hello world\n", "partial first body must be dropped");
	cr_assert_eq(r.attempts, 2);
	lks_http_req_free(&r);
}

Test(http, body_over_cap)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"status\",\"status\":200,"
	            "\"body\":\"0123456789abcdef\"}]");
	struct lks_http_req big, small;
	lks_http_req_init(&big, LKS_HTTP_GET, url("/_fault/bytes/100000"));
	big.max_body = 1000;
	lks_http_req_init(&small, LKS_HTTP_GET, url("/hello.txt"));
	small.max_body = 16;
	int rc = lks_http_run(&ctx, (struct lks_http_req *[]){&big, &small}, 2);
	cr_assert_eq(rc, -LKS_E_TOOBIG, "rc %d: %s", rc, ctx.err);
	cr_assert_eq(big.rc, -LKS_E_TOOBIG);
	cr_assert_eq(big.attempts, 1, "a size cap is not retried");
	cr_assert(strstr(big.errdetail, "exceeds"), "%s", big.errdetail);
	cr_assert_eq(small.rc, 0, "exactly max_body is fine: %s", small.errdetail);
	cr_assert_eq(small.body.len, 16);
	lks_http_req_free(&big);
	lks_http_req_free(&small);
}

Test(http, plain_http_refused_for_remote_hosts)
{
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, "http://user:pw@registry.example.invalid/v2/");
	int rc = run1(&r);
	cr_assert_eq(rc, -LKS_E_UNSAFE);
	cr_assert(strstr(ctx.err, "registry.example.invalid"), "%s", ctx.err);
	cr_assert(strstr(ctx.err, "--insecure-registry"), "%s", ctx.err);
	cr_assert_null(strstr(ctx.err, "pw"), "credentials leaked: %s", ctx.err);
	lks_http_req_free(&r);

	lks_http_req_init(&r, LKS_HTTP_GET, "ftp://127.0.0.1/x");
	cr_assert_eq(run1(&r), -LKS_E_UNSAFE);
	lks_http_req_free(&r);
	lks_http_req_init(&r, LKS_HTTP_GET, "not a url");
	cr_assert_eq(run1(&r), -LKS_E_INVAL);
	lks_http_req_free(&r);
}

Test(http, insecure_host_allowed_when_listed)
{
	ctx.insecure_hosts = calloc(2, sizeof(char *));
	ctx.insecure_hosts[0] = strdup("registry.example.invalid");
	ctx.http_max_retries = 0;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, "http://registry.example.invalid/v2/");
	int rc = run1(&r);
	cr_assert_eq(rc, -LKS_E_NET, "allowed host must reach the transport: %d %s", rc, ctx.err);
	lks_http_req_free(&r);
}

Test(http, offline_refused)
{
	ctx.offline = true;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, "https://127.0.0.1:1/x");
	cr_assert_eq(run1(&r), -LKS_E_OFFLINE);
	cr_assert_eq(r.rc, -LKS_E_OFFLINE);
	cr_assert_eq(r.attempts, 0);
	cr_assert(strstr(ctx.err, "offline"), "%s", ctx.err);
	lks_http_req_free(&r);
}

Test(http, connection_refused_is_retried_then_fails)
{
	/* a port that was just free: bind, read it, close */
	proxy_start(NULL);
	int port = proxy_port;
	proxy_stop_all();
	ctx.http_max_retries = 1;
	char u[64];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/x", port);
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, u);
	cr_assert_eq(run1(&r), -LKS_E_NET, "%s", ctx.err);
	cr_assert_eq(r.attempts, 2);
	cr_assert_eq(r.status, 0);
	lks_http_req_free(&r);
}

struct sink_state {
	size_t n;
	int bad;
	size_t stop_at;
};

static int count_sink(void *opaque, const void *p, size_t n)
{
	struct sink_state *s = opaque;
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++) {
		s->bad += b[i] != (s->n + i) % 251;
	}
	s->n += n;
	return s->stop_at && s->n >= s->stop_at ? -LKS_E_DIGEST : 0;
}

Test(http, streaming_sink)
{
	proxy_start(NULL);
	struct sink_state s = {0}, stop = {.stop_at = 1};
	struct lks_http_req r, a, nf;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/_fault/bytes/300000"));
	r.sink = count_sink;
	r.sink_opaque = &s;
	lks_http_req_init(&a, LKS_HTTP_GET, url("/_fault/bytes/300000"));
	a.sink = count_sink;
	a.sink_opaque = &stop;
	lks_http_req_init(&nf, LKS_HTTP_GET, url("/missing"));
	nf.sink = count_sink;
	nf.sink_opaque = &stop;
	int rc = lks_http_run(&ctx, (struct lks_http_req *[]){&r, &a, &nf}, 3);
	cr_assert_eq(rc, -LKS_E_DIGEST, "the sink's error comes back: %d %s", rc, ctx.err);
	cr_assert_eq(r.rc, 0, "%s", r.errdetail);
	cr_assert_eq(s.n, 300000);
	cr_assert_eq(s.bad, 0);
	cr_assert_eq(r.body.len, 0, "sink bytes must not also go to body");
	cr_assert_eq(a.rc, -LKS_E_DIGEST);
	cr_assert_eq(a.attempts, 1);
	cr_assert_eq(nf.status, 404, "an error page never reaches the sink");
	cr_assert(nf.body.len > 0);
	lks_http_req_free(&r);
	lks_http_req_free(&a);
	lks_http_req_free(&nf);
}

Test(http, redirects_and_authorization)
{
	proxy_start(NULL);
	char path[512];
	struct lks_http_req same, cross, bad;
	/* same origin: Authorization kept */
	snprintf(path, sizeof(path), "/_fault/redirect?to=%s", url("/_fault/echo"));
	lks_http_req_init(&same, LKS_HTTP_GET, url(path));
	lks_http_req_header(&same, "Authorization: Bearer sekrit");
	/* another host (localhost vs 127.0.0.1): Authorization dropped */
	snprintf(path, sizeof(path), "/_fault/redirect?code=307&to=http://localhost:%d/_fault/echo",
	         proxy_port);
	lks_http_req_init(&cross, LKS_HTTP_GET, url(path));
	lks_http_req_header(&cross, "Authorization: Bearer sekrit");
	/* to plain http on a remote host: refused */
	lks_http_req_init(&bad, LKS_HTTP_GET,
	                  url("/_fault/redirect?to=http://registry.example.invalid/x"));
	int rc = lks_http_run(&ctx, (struct lks_http_req *[]){&same, &cross, &bad}, 3);
	cr_assert_eq(rc, -LKS_E_UNSAFE, "%d %s", rc, ctx.err);
	cr_assert_eq(same.status, 200, "%s", same.errdetail);
	cr_assert(strstr(same.body.data, "sekrit"), "%s", same.body.data);
	cr_assert_str_eq(same.effective_url, url("/_fault/echo"));
	cr_assert_eq(cross.status, 200, "%s", cross.errdetail);
	cr_assert_null(strstr(cross.body.data, "sekrit"), "leaked: %s", cross.body.data);
	cr_assert_eq(bad.rc, -LKS_E_UNSAFE);
	cr_assert(strstr(bad.errdetail, "--insecure-registry"), "%s", bad.errdetail);
	lks_http_req_free(&same);
	lks_http_req_free(&cross);
	lks_http_req_free(&bad);
}

Test(http, redirect_loop_stops)
{
	proxy_start("[{\"path\":\"/loop\",\"fault\":\"status\",\"status\":302,"
	            "\"headers\":{\"Location\":\"/loop\"}}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/loop"));
	cr_assert_eq(run1(&r), 0, "%s", ctx.err);
	cr_assert_eq(r.rc, -LKS_E_HTTP);
	cr_assert_eq(r.status, 302);
	cr_assert(strstr(r.errdetail, "redirects"), "%s", r.errdetail);
	lks_http_req_free(&r);
}

static int fake_calls;

static int fake_fetch(void *c, struct lks_http_req **reqs, int n)
{
	fake_calls++;
	for (int i = 0; i < n; i++) {
		reqs[i]->status = 418;
	}
	return 0;
}

Test(http, fetch_hook_replaces_transport)
{
	ctx.fetch = fake_fetch;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, "https://registry.example.invalid/v2/");
	cr_assert_eq(run1(&r), 0);
	cr_assert_eq(fake_calls, 1);
	cr_assert_eq(r.status, 418);
	lks_http_req_free(&r);
}

Test(http, slow_trickle_completes)
{
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"trickle\",\"chunk\":3,\"interval\":0.1}]");
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	cr_assert_eq(run1(&r), 0, "%s", ctx.err);
	cr_assert_str_eq(r.body.data, "hello world\n");
	lks_http_req_free(&r);
}

Test(http, too_many_response_headers)
{
	char rules[16384];
	int off =
	    snprintf(rules, sizeof(rules),
	             "[{\"path\":\"/many\",\"fault\":\"status\",\"status\":200,\"headers\":{");
	for (int i = 0; i < 300; i++) {
		off += snprintf(rules + off, sizeof(rules) - (size_t)off, "%s\"X-H%d\":\"v\"",
		                i ? "," : "", i);
	}
	snprintf(rules + off, sizeof(rules) - (size_t)off, "}}]");
	proxy_start(rules);
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/many"));
	cr_assert_eq(run1(&r), -LKS_E_TOOBIG, "%s", ctx.err);
	cr_assert(strstr(r.errdetail, "headers"), "%s", r.errdetail);
	lks_http_req_free(&r);
}

Test(http, sequential_runs_reuse_the_ctx)
{
	proxy_start(NULL);
	for (int i = 0; i < 3; i++) {
		struct lks_http_req r;
		lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
		cr_assert_eq(run1(&r), 0, "%s", ctx.err);
		cr_assert_str_eq(r.body.data, "hello world\n");
		lks_http_req_free(&r);
	}
	cr_assert_not_null(ctx.http);
}

/* n GET requests for /slow/0 .. /slow/n-1, and the pointer array lks_http_run takes. */
static void slow_requests(struct lks_http_req *r, struct lks_http_req **p, int n)
{
	for (int i = 0; i < n; i++) {
		char path[64];
		snprintf(path, sizeof(path), "/slow/%d", i);
		lks_http_req_init(&r[i], LKS_HTTP_GET, url(path));
		p[i] = &r[i];
	}
}

/* 8 requests that each take 0.5 s: 4 in flight must take ~1 s, not 0.5 s (limit ignored) nor
 * 4 s (serialised). */
Test(http, parallel_limit_is_honoured)
{
	proxy_start("[{\"path\":\"/slow\",\"fault\":\"delay\",\"seconds\":0.5}]");
	enum { N = 8 };
	struct lks_http_req r[N];
	struct lks_http_req *p[N];
	ctx.http_parallel = 4;
	slow_requests(r, p, N);
	double t0 = now_s();
	cr_assert_eq(lks_http_run(&ctx, p, N), 0, "%s", ctx.err);
	double dt = now_s() - t0;
	fprintf(stderr, "# 8 x 0.5 s requests, 4 in flight: %.3f s\n", dt);
	cr_assert(dt >= 0.95 && dt < 2.5, "took %.3f s", dt);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(r[i].status, 404);
		lks_http_req_free(&r[i]);
	}
}

/* Connections the proxy saw for requests whose path starts with prefix (its log names each
 * request's client port), read through a ctx of its own. */
static int connections_for(const char *prefix)
{
	struct lks_ctx c;
	struct lks_http_req r;
	lks_ctx_init(&c);
	lks_http_req_init(&r, LKS_HTTP_GET, url("/_fault/log"));
	cr_assert_eq(lks_http_run(&c, (struct lks_http_req *[]){&r}, 1), 0, "%s", c.err);
	json_t *log = json_loadb(r.body.data, r.body.len, 0, NULL);
	cr_assert_not_null(log);
	long ports[256];
	int n = 0;
	size_t i;
	json_t *e;
	json_array_foreach(log, i, e) {
		const char *path = json_string_value(json_object_get(e, "path"));
		long port = (long)json_integer_value(json_object_get(e, "peer"));
		bool seen = !path || strncmp(path, prefix, strlen(prefix)) != 0;
		for (int k = 0; k < n && !seen; k++) {
			seen = ports[k] == port;
		}
		if (!seen && n < 256) {
			ports[n++] = port;
		}
	}
	json_decref(log);
	lks_http_req_free(&r);
	lks_ctx_free(&c);
	return n;
}

/* A run's batches share connections: idle ones are kept between lks_http_run calls (curl would
 * keep only 4 per transfer in flight), so a command's second batch costs no new handshake. */
Test(http, connections_kept_between_batches)
{
	/* answers trickle in, as from a real server: curl prunes its pool as each one returns */
	char rules[1024];
	int off = snprintf(rules, sizeof(rules), "[");
	for (int i = 0; i < 10; i++) {
		off += snprintf(rules + off, sizeof(rules) - (size_t)off,
		                "%s{\"path\":\"^/f%d\\\\.txt\",\"fault\":\"delay\",\"seconds\":%.2f,"
		                "\"times\":null}",
		                i ? "," : "", i, 0.03 * i);
	}
	snprintf(rules + off, sizeof(rules) - (size_t)off, "]");
	proxy_start(rules);
	enum { N = 12 };
	struct lks_http_req r[N];
	struct lks_http_req *p[N];
	for (int round = 0; round < 3; round++) {
		int n = round == 1 ? 1 : N; /* a small batch between two big ones */
		for (int i = 0; i < n; i++) {
			char path[64];
			snprintf(path, sizeof(path), "/f%d.txt", i % 10);
			lks_http_req_init(&r[i], LKS_HTTP_GET, url(path));
			p[i] = &r[i];
		}
		cr_assert_eq(lks_http_run(&ctx, p, n), 0, "%s", ctx.err);
		for (int i = 0; i < n; i++) {
			cr_assert_eq(r[i].status, 200);
			lks_http_req_free(&r[i]);
		}
	}
	int conns = connections_for("/f");
	cr_assert(conns >= 1 && conns <= N, "%d connections for 3 batches of %d", conns, N);
}

/* At most ctx->http_per_host connections to one host, however many transfers are allowed in
 * flight: 8 requests of 0.5 s, 2 per host, take ~2 s over 2 connections. */
Test(http, per_host_limit_is_honoured)
{
	proxy_start("[{\"path\":\"/slow\",\"fault\":\"delay\",\"seconds\":0.5}]");
	enum { N = 8 };
	struct lks_http_req r[N];
	struct lks_http_req *p[N];
	ctx.http_parallel = 8;
	ctx.http_per_host = 2;
	slow_requests(r, p, N);
	double t0 = now_s();
	cr_assert_eq(lks_http_run(&ctx, p, N), 0, "%s", ctx.err);
	double dt = now_s() - t0;
	fprintf(stderr, "# 8 x 0.5 s requests, 2 per host: %.3f s\n", dt);
	for (int i = 0; i < N; i++) {
		cr_assert_eq(r[i].status, 404);
		lks_http_req_free(&r[i]);
	}
	cr_assert(dt >= 1.9, "took %.3f s: more than 2 connections at once", dt);
	int conns = connections_for("/slow/");
	cr_assert_eq(conns, 2, "%d connections", conns);
}

Test(http, unframed_body_over_cap)
{
	proxy_start("[{\"path\":\"/_fault/bytes\",\"fault\":\"nolength\"}]");
	struct lks_http_req r, ok, h;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/_fault/bytes/100000"));
	r.max_body = 1000;
	lks_http_req_init(&ok, LKS_HTTP_GET, url("/_fault/bytes/1000"));
	ok.max_body = 1000;
	lks_http_req_init(&h, LKS_HTTP_HEAD, url("/hello.txt"));
	h.max_body = 1; /* a HEAD has no body, whatever Content-Length says */
	int rc = lks_http_run(&ctx, (struct lks_http_req *[]){&r, &ok, &h}, 3);
	cr_assert_eq(rc, -LKS_E_TOOBIG, "%d %s", rc, ctx.err);
	cr_assert_eq(r.rc, -LKS_E_TOOBIG);
	cr_assert(r.body.len <= 1000);
	cr_assert_eq(ok.rc, 0, "%s", ok.errdetail);
	cr_assert_eq(ok.body.len, 1000);
	cr_assert_eq(h.rc, 0, "%s", h.errdetail);
	cr_assert_eq(h.status, 200);
	lks_http_req_free(&r);
	lks_http_req_free(&ok);
	lks_http_req_free(&h);
}

/* Through a second proxy in forwarding mode: the corrupt fault keeps the headers but alters the
 * body (what a digest check downstream must catch); the client reports it as a normal 200. */
Test(http, forwarding_and_corrupt_body)
{
	proxy_start(NULL);
	char up[64];
	snprintf(up, sizeof(up), "http://127.0.0.1:%d", proxy_port);
	int fport = proxy_spawn("[{\"path\":\"/hello\",\"fault\":\"corrupt\",\"times\":1}]",
	                        (const char *const[]){"--upstream", up, NULL});
	char u[128];
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/hello.txt", fport);
	struct lks_http_req bad, good, nf;
	lks_http_req_init(&bad, LKS_HTTP_GET, u);
	lks_http_req_init(&good, LKS_HTTP_GET, u);
	snprintf(u, sizeof(u), "http://127.0.0.1:%d/missing", fport);
	lks_http_req_init(&nf, LKS_HTTP_GET, u);
	cr_assert_eq(run1(&bad), 0, "%s", ctx.err);
	cr_assert_eq(lks_http_run(&ctx, (struct lks_http_req *[]){&good, &nf}, 2), 0);
	cr_assert_eq(bad.status, 200);
	cr_assert_eq(bad.body.len, 12);
	cr_assert_str_neq(bad.body.data, "hello world\n");
	cr_assert_str_eq(good.body.data, "hello world\n");
	cr_assert_eq(nf.status, 404, "upstream errors are relayed");
	lks_http_req_free(&bad);
	lks_http_req_free(&good);
	lks_http_req_free(&nf);
}

/* HTTPS with a self-signed certificate: verification is on, so the transfer must fail. */
Test(http, tls_certificate_is_verified)
{
	char cmd[3 * PATH_MAX], cert[PATH_MAX + 16], key[PATH_MAX + 16];
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/lks-test-http-XXXXXX");
	cr_assert_not_null(mkdtemp(tmpdir));
	snprintf(cert, sizeof(cert), "%s/cert.pem", tmpdir);
	snprintf(key, sizeof(key), "%s/key.pem", tmpdir);
	snprintf(cmd, sizeof(cmd),
	         "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
	         "-addext subjectAltName=IP:127.0.0.1 -keyout '%s' -out '%s' >/dev/null 2>&1",
	         key, cert);
	if (system(cmd) != 0) {
		cr_skip_test("openssl CLI not available");
	}
	int port =
	    proxy_spawn(NULL, (const char *const[]){"--tls-cert", cert, "--tls-key", key, NULL});
	char u[128];
	snprintf(u, sizeof(u), "https://127.0.0.1:%d/_fault/bytes/10", port);
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, u);
	int rc = run1(&r);
	cr_assert_eq(rc, -LKS_E_NET, "self-signed certificate accepted? %d %s", rc, ctx.err);
	cr_assert_eq(r.attempts, 1, "a certificate failure is not retried");
	cr_assert(strstr(ctx.err, "TLS"), "%s", ctx.err);
	fprintf(stderr, "# %s\n", ctx.err);
	lks_http_req_free(&r);
}

Test(http_parse, retry_after)
{
	time_t now = 784111777; /* Sun, 06 Nov 1994 08:49:37 GMT */
	struct {
		const char *in;
		long want;
	} cases[] = {
	    {"0", 0},
	    {"120", 120},
	    {" 7", 7},
	    {"99999999999999999999", LONG_MAX / 2},
	    {"Sun, 06 Nov 1994 08:49:47 GMT", 10},
	    {"Sunday, 06-Nov-94 08:50:37 GMT", 60},
	    {"Sun Nov  6 08:49:57 1994", 20},
	    {"Sun, 06 Nov 1994 08:00:00 GMT", 0},
	    {"Sun, 06 Nov 1994 08:49:47 PST", -1},
	    {"-5", -1},
	    {"1.5", -1},
	    {"", -1},
	    {"soon", -1},
	    {"Sun, 32 Nov 1994 08:49:47 GMT", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cr_expect_eq(http_retry_after(cases[i].in, now), cases[i].want, "'%s' -> %ld",
		             cases[i].in, http_retry_after(cases[i].in, now));
	}
}

Test(http_parse, header_lines)
{
	struct {
		const char *in;
		int rc;
		const char *name, *value;
	} cases[] = {
	    {"Content-Length: 12\r\n", 0, "content-length", "12"},
	    {"ETag:   \"abc\"  \r\n", 0, "etag", "\"abc\""},
	    {"X-Empty:\r\n", 0, "x-empty", ""},
	    {"HTTP/1.1 200 OK\r\n", 1, NULL, NULL},
	    {"\r\n", 1, NULL, NULL},
	    {" folded\r\n", 1, NULL, NULL},
	    {"no colon\r\n", -LKS_E_PARSE, NULL, NULL},
	    {": novalue\r\n", -LKS_E_PARSE, NULL, NULL},
	    {"Bad Name: x\r\n", -LKS_E_PARSE, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *n = NULL, *v = NULL;
		int rc = http_header_parse(cases[i].in, strlen(cases[i].in), &n, &v);
		cr_expect_eq(rc, cases[i].rc, "'%s' -> %d", cases[i].in, rc);
		if (cases[i].name && rc == 0) {
			cr_expect_str_eq(n, cases[i].name);
			cr_expect_str_eq(v, cases[i].value);
		}
		free(n);
		free(v);
	}
}

Test(http_parse, redact_url)
{
	struct {
		const char *in, *want;
	} cases[] = {
	    {"https://user:pw@host:5000/v2/x?token=abc", "https://host:5000/v2/x?..."},
	    {"https://host/v2/", "https://host/v2/"},
	    {"http://a@b@host/p#frag", "http://host/p"},
	    {"https://host?q", "https://host?..."},
	    {"weird", "weird"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[128];
		http_redact_url(cases[i].in, out, sizeof(out));
		cr_expect_str_eq(out, cases[i].want);
	}
	char tiny[8];
	http_redact_url("https://user:pw@host/long/path", tiny, sizeof(tiny));
	cr_expect_eq(strlen(tiny), 7);
}

/* A hang after the headers ends at the timeout --help documents, not at a shorter stall limit
 * of its own (it used to give up after 30 s whatever --timeout said: 31 s tells them apart). */
Test(http, stall_after_headers_ends_at_the_timeout, .timeout = 90)
{
	struct lks_ctx fresh;
	lks_ctx_init(&fresh);
	cr_expect_eq(fresh.http_timeout_ms, LKS_HTTP_TIMEOUT_S * 1000L, "the default is --help's");
	lks_ctx_free(&fresh);
	proxy_start("[{\"path\":\"/hello\",\"fault\":\"hang_body\",\"keep\":3,\"seconds\":60}]");
	ctx.http_timeout_ms = 31000;
	struct lks_http_req r;
	lks_http_req_init(&r, LKS_HTTP_GET, url("/hello.txt"));
	double t0 = now_s();
	cr_assert_eq(run1(&r), -LKS_E_TIMEOUT, "%s", ctx.err);
	double dt = now_s() - t0;
	cr_assert(dt >= 30.8 && dt < 45, "a 31 s timeout ended a stall after %.1f s", dt);
	cr_assert(strstr(ctx.err, "timed out after 31 s"), "%s", ctx.err);
	lks_http_req_free(&r);
}
