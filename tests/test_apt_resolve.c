#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "pinner/apt/apt_index.h"
#include "pinner/apt/apt_rewrite.h"
#include "pinner/apt/apt_resolve.h"
#include "pinner/apt/apt_sources.h"
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"
#include "pinner/apt/apt_int.h"

static const struct {
	const char *suite, *codename, *file, *extra;
} suites[] = {
    {"stable", "code", "stable.Packages", ""},
    {"stable-updates", "code-updates", "updates.Packages", ""},
    {"experimental", "exp-code", "exp.Packages", "NotAutomatic: yes\n"},
};

static void fixture(const char *name, struct lks_buf *b)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/fixtures/apt/resolve/%s", getenv("LKS_SRCDIR"), name);
	lks_buf_init(b, 0);
	cr_assert_eq(lks_buf_read_file(b, path), 0, "cannot read %s", path);
}

/* A Release whose SHA256 entry matches the fixture Packages file (or not, when `corrupt`). */
static void add_suite(struct lks_ctx *ctx, struct lks_apt_index *idx, size_t i, bool corrupt)
{
	struct lks_buf pk, rel;
	fixture(suites[i].file, &pk);
	char dg[LKS_DIGEST_LEN + 1];
	cr_assert_eq(lks_sha256_buf(pk.data, pk.len, dg), 0);
	if (corrupt) {
		dg[7] = dg[7] == '0' ? '1' : '0';
	}
	lks_buf_init(&rel, 0);
	lks_buf_printf(&rel,
	               "Suite: %s\nCodename: %s\nDate: Sat, 10 Jun 2023 08:57:18 UTC\n%s"
	               "SHA256:\n %s %zu main/binary-amd64/Packages\n",
	               suites[i].suite, suites[i].codename, suites[i].extra, dg + 7, pk.len);
	struct lks_apt_release r;
	cr_assert_eq(lks_apt_release_parse(ctx, "Release", rel.data, rel.len, &r), 0, "%s",
	             ctx->err);
	cr_assert_eq(r.date_epoch, 1686387438);
	int ri = lks_apt_index_add_release(idx, &r);
	cr_assert_geq(ri, 0);
	int rc =
	    lks_apt_index_add_packages_mem(ctx, idx, (size_t)ri, "main", "amd64", pk.data, pk.len);
	cr_assert_eq(rc, corrupt ? -LKS_E_DIGEST : 0, "%s", ctx->err);
	lks_buf_free(&pk);
	lks_buf_free(&rel);
}

static const struct {
	const char *req;
	bool prefs;
	const char *target;
	int rc;
	const char *want; /* "version suite" or a substring of the error */
} cases[] = {
    {"curl", false, NULL, 0, "7.88.1-10+deb12u12 stable-updates"},
    {"tini", false, NULL, 0, "0.19.0-1 stable"},
    {"epochy", false, NULL, 0, "1:1.0-1 stable"},
    {"exp-only", false, NULL, 0, "2.0-1 experimental"},
    {"curl=7.88.1-10+deb12u5", false, NULL, 0, "7.88.1-10+deb12u5 stable"},
    {"curl=1.0", false, NULL, -LKS_E_NOTFOUND, "'curl' version '1.0' not found"},
    {"curl/experimental", false, NULL, 0, "8.5.0-1 experimental"},
    {"curl/exp-code", false, NULL, 0, "8.5.0-1 experimental"},
    {"mail-transport-agent", false, NULL, 0, "4.96-15 stable"},
    {"vi", false, NULL, 0, "9.0-1 stable"},
    {"editor", false, NULL, -LKS_E_CONFLICT, "provided by nano-like, vim-like"},
    {"nosuch", false, NULL, -LKS_E_NOTFOUND,
     "'nosuch' not found in suites 'stable, stable-updates, experimental' for architecture "
     "'amd64'"},
    {"curl:arm64", false, NULL, -LKS_E_NOTFOUND, "architecture 'arm64'"},
    {"held", false, NULL, 0, "2.0-1 stable-updates"},
    {"held", true, NULL, 0, "1.0-1 stable"},
    {"curl", true, NULL, 0, "8.5.0-1 experimental"},
    {"curl", false, "experimental", 0, "8.5.0-1 experimental"},
    {"curl", false, "stable", 0, "7.88.1-10+deb12u5 stable"},
};

static void build_index(struct lks_ctx *ctx, struct lks_apt_index *idx)
{
	lks_apt_index_init(idx);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		add_suite(ctx, idx, i, false);
	}
}

/* The index as a snapshot file, mapped in place. */
static void mapped_index(struct lks_ctx *ctx, const struct lks_apt_index *built,
                         struct lks_apt_index *idx)
{
	struct lks_buf snap;
	lks_buf_init(&snap, 0);
	cr_assert_eq(lks_apt_index_save(ctx, built, "k1", &snap), 0, "%s", ctx->err);
	char path[] = "/tmp/lks-apt-snap-XXXXXX";
	int fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	cr_assert_eq(write(fd, snap.data, snap.len), (ssize_t)snap.len);
	close(fd);
	lks_apt_index_init(idx);
	cr_assert_eq(lks_apt_index_restore_file(ctx, idx, "k1", path), 0, "%s", ctx->err);
	unlink(path); /* the mapping stays valid */
	cr_assert_not_null(idx->snap);
	lks_buf_free(&snap);
}

static void run_table(struct lks_ctx *ctx, const struct lks_apt_index *idx);

/* The same answers from the built index and from its snapshot mapped in place. */
Test(apt_resolve, table)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_index idx, mapped;
	build_index(&ctx, &idx);
	run_table(&ctx, &idx);
	mapped_index(&ctx, &idx, &mapped);
	run_table(&ctx, &mapped);
	cr_expect_not(lks_apt_index_damaged(&mapped));
	lks_apt_index_free(&mapped);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

static void run_table(struct lks_ctx *ctx, const struct lks_apt_index *idx)
{
	struct lks_buf pb;
	fixture("prefs", &pb);
	struct lks_apt_prefs prefs;
	lks_apt_prefs_init(&prefs);
	cr_assert_eq(lks_apt_prefs_parse(ctx, &prefs, "prefs", pb.data, pb.len), 0, "%s", ctx->err);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct lks_apt_policy pol;
		cr_assert_eq(lks_apt_policy_init(ctx, &pol, idx, cases[i].prefs ? &prefs : NULL,
		                                 cases[i].target, "amd64"),
		             0);
		struct lks_apt_request req;
		cr_assert_eq(lks_apt_request_parse(ctx, cases[i].req, &req), 0, "%s", ctx->err);
		struct lks_apt_choice c;
		ctx->err[0] = '\0';
		int rc = lks_apt_resolve(ctx, &pol, &req, &c);
		cr_expect_eq(rc, cases[i].rc, "%s: rc %d (%s)", cases[i].req, rc, ctx->err);
		if (rc == 0) {
			char got[512];
			snprintf(got, sizeof(got), "%s %s", c.pkg->version, c.release->suite);
			cr_expect_str_eq(got, cases[i].want, "%s", cases[i].req);
		} else {
			cr_expect(strstr(ctx->err, cases[i].want), "%s: %s", cases[i].req, ctx->err);
		}
		lks_apt_policy_free(&pol);
	}
	lks_apt_prefs_free(&prefs);
	lks_buf_free(&pb);
}

/* A Packages file whose digest does not match its Release entry adds nothing. */
Test(apt_resolve, digest_mismatch_adds_nothing)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	add_suite(&ctx, &idx, 0, true);
	cr_expect(strstr(ctx.err, "sha256"), "%s", ctx.err);
	cr_expect_eq(idx.n_pkgs, 0);
	cr_expect_null(lks_apt_index_find(&idx, "curl"));
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

Test(apt_resolve, request_words)
{
	static const struct {
		const char *w;
		int rc;
		const char *name, *arch, *ver, *rel;
	} words[] = {
	    {"curl", 0, "curl", "", "", ""},
	    {"tini:arm64=0.19.0-1", 0, "tini", "arm64", "0.19.0-1", ""},
	    {"nginx/bookworm-backports", 0, "nginx", "", "", "bookworm-backports"},
	    {"libstdc++6", 0, "libstdc++6", "", "", ""},
	    {"curl=", -LKS_E_INVAL, NULL, NULL, NULL, NULL},
	    {"=1.0", -LKS_E_INVAL, NULL, NULL, NULL, NULL},
	    {"curl=not a version", -LKS_E_INVAL, NULL, NULL, NULL, NULL},
	    {"cu$rl", -LKS_E_INVAL, NULL, NULL, NULL, NULL},
	    {"curl:", -LKS_E_INVAL, NULL, NULL, NULL, NULL},
	};
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		struct lks_apt_request r;
		int rc = lks_apt_request_parse(NULL, words[i].w, &r);
		cr_expect_eq(rc, words[i].rc, "%s", words[i].w);
		if (rc == 0) {
			cr_expect_str_eq(r.name, words[i].name);
			cr_expect_str_eq(r.arch, words[i].arch);
			cr_expect_str_eq(r.version, words[i].ver);
			cr_expect_str_eq(r.release, words[i].rel);
		}
	}
}

Test(apt_resolve, sources_formats)
{
	static const char list[] =
	    "# comment\n"
	    "deb [arch=amd64,arm64 signed-by=/k.gpg] http://127.0.0.1:8080/debian/ bookworm main "
	    "contrib\n"
	    "deb-src http://x/debian bookworm main\n\n"
	    "deb http://u:p@host:81/d bookworm-updates main\n";
	static const char d822[] = "Types: deb deb-src\nURIs: http://a/debian http://b/debian\n"
	                           "Suites: s1 s2\nComponents: main\nSigned-By: /k.gpg\n\n"
	                           "Types: deb\nURIs: http://c/\nSuites: x\nComponents: main\n"
	                           "Enabled: no\n";
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_sources s;
	lks_apt_sources_init(&s);
	cr_assert_eq(lks_apt_sources_parse_list(&ctx, &s, "l", list, strlen(list)), 0, "%s",
	             ctx.err);
	cr_assert_eq(s.n, 2);
	cr_expect_str_eq(s.v[0].archs[1], "arm64");
	cr_expect_str_eq(s.v[0].components[1], "contrib");
	char *p = lks_apt_source_list_prefix(&s.v[0]);
	cr_expect_str_eq(p, "127.0.0.1:8080_debian_dists_bookworm_");
	free(p);
	p = lks_apt_source_list_prefix(&s.v[1]);
	cr_expect_str_eq(p, "host:81_d_dists_bookworm-updates_");
	free(p);
	p = lks_apt_uri_site(s.v[1].uri);
	cr_expect_str_eq(p, "host");
	free(p);
	cr_assert_eq(lks_apt_sources_parse_deb822(&ctx, &s, "d", d822, strlen(d822)), 0, "%s",
	             ctx.err);
	cr_expect_eq(s.n, 6);
	cr_expect_str_eq(s.v[5].uri, "http://b/debian");
	cr_expect_str_eq(s.v[5].suite, "s2");
	lks_apt_sources_free(&s);
	cr_expect_eq(lks_apt_sources_parse_list(&ctx, &s, "l", "deb http://x\n", 13), -LKS_E_PARSE);
	lks_apt_sources_free(&s);
	lks_ctx_free(&ctx);
}

static int add_xz(struct lks_ctx *ctx, struct lks_apt_index *idx, const char *xzname,
                  bool wrong_digest)
{
	struct lks_buf pk, xz, rel;
	fixture("stable.Packages", &pk);
	fixture(xzname, &xz);
	char dp[LKS_DIGEST_LEN + 1], dx[LKS_DIGEST_LEN + 1];
	lks_sha256_buf(pk.data, pk.len, dp);
	lks_sha256_buf(xz.data, xz.len, dx);
	if (wrong_digest) {
		dx[10] = dx[10] == 'a' ? 'b' : 'a';
	}
	lks_buf_init(&rel, 0);
	lks_buf_printf(&rel,
	               "Suite: stable\nSHA256:\n %s %zu main/binary-amd64/Packages\n"
	               " %s %zu main/binary-amd64/Packages.xz\n",
	               dp + 7, pk.len, dx + 7, xz.len);
	struct lks_apt_release r;
	cr_assert_eq(lks_apt_release_parse(ctx, "Release", rel.data, rel.len, &r), 0);
	int ri = lks_apt_index_add_release(idx, &r);
	int rc = lks_apt_index_add_packages_compressed(ctx, idx, (size_t)ri, "main", "amd64", ".xz",
	                                               xz.data, xz.len);
	lks_buf_free(&pk);
	lks_buf_free(&xz);
	lks_buf_free(&rel);
	return rc;
}

Test(apt_resolve, compressed_packages)
{
	static const struct {
		const char *file;
		bool wrong_digest;
		int rc;
		const char *msg;
	} xcases[] = {
	    {"stable.Packages.xz", false, 0, ""},
	    {"stable.Packages.xz", true, -LKS_E_DIGEST, "Packages.xz': sha256"},
	    {"truncated.Packages.xz", false, -LKS_E_ARCHIVE,
	     "cannot decompress 'main/binary-amd64/Packages.xz' (corrupt or truncated?)"},
	};
	for (size_t i = 0; i < sizeof(xcases) / sizeof(xcases[0]); i++) {
		struct lks_ctx ctx;
		lks_ctx_init(&ctx);
		struct lks_apt_index idx;
		lks_apt_index_init(&idx);
		int rc = add_xz(&ctx, &idx, xcases[i].file, xcases[i].wrong_digest);
		if (xcases[i].rc == -LKS_E_ARCHIVE) {
			cr_expect_lt(rc, 0, "%s must fail", xcases[i].file);
		} else {
			cr_expect_eq(rc, xcases[i].rc, "%s: %d %s", xcases[i].file, rc, ctx.err);
		}
		cr_expect(strstr(ctx.err, xcases[i].msg), "%s", ctx.err);
		cr_log_info("%s: %s", xcases[i].file, ctx.err);
		cr_expect_eq(idx.n_pkgs, rc == 0 ? 7u : 0u, "%s: %zu packages", xcases[i].file,
		             idx.n_pkgs);
		lks_apt_index_free(&idx);
		lks_ctx_free(&ctx);
	}
}

static bool same_str(const char *a, const char *b)
{
	return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool same_pkg(const struct lks_apt_pkg *p, const struct lks_apt_pkg *q)
{
	return same_str(p->name, q->name) && same_str(p->version, q->version) &&
	       same_str(p->arch, q->arch) && same_str(p->filename, q->filename) &&
	       same_str(p->sha256, q->sha256) && same_str(p->provides, q->provides) &&
	       same_str(p->multi_arch, q->multi_arch) && same_str(p->depends, q->depends) &&
	       same_str(p->pre_depends, q->pre_depends) && same_str(p->breaks, q->breaks) &&
	       same_str(p->conflicts, q->conflicts) && p->size == q->size && p->pfile == q->pfile;
}

/* Whether b answers every lookup of a's names exactly as a does (entries, order, fields),
 * stopping at the first difference; `damaged` reports b's state afterwards. */
static bool same_answers(const struct lks_apt_index *a, const struct lks_apt_index *b)
{
	if (a->n_pkgs != b->n_pkgs || a->n_releases != b->n_releases ||
	    a->n_pfiles != b->n_pfiles) {
		return false;
	}
	for (size_t i = 0; i < a->n_releases; i++) {
		if (!same_str(a->releases[i].suite, b->releases[i].suite) ||
		    a->releases[i].date_epoch != b->releases[i].date_epoch) {
			return false;
		}
	}
	for (size_t i = 0; i < a->n_pkgs; i++) {
		const struct lks_apt_pkg *p = lks_apt_index_at(a, i), *q = lks_apt_index_at(b, i);
		if (!q || !same_pkg(p, q)) {
			return false;
		}
		const struct lks_apt_pkg *x = lks_apt_index_find(a, p->name);
		const struct lks_apt_pkg *y = lks_apt_index_find(b, p->name);
		for (; x; x = lks_apt_index_next(a, x), y = lks_apt_index_next(b, y)) {
			if (!y || !same_pkg(x, y)) {
				return false;
			}
		}
		if (y) {
			return false;
		}
	}
	return lks_apt_index_find(b, "no-such-package") == NULL;
}

/* Snapshot round trip gives the same answers; truncated, stale and foreign-version snapshots
 * are refused. */
Test(apt_resolve, snapshot)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_index idx, back;
	build_index(&ctx, &idx);
	struct lks_buf snap;
	lks_buf_init(&snap, 0);
	cr_assert_eq(lks_apt_index_save(&ctx, &idx, "k1", &snap), 0);
	lks_apt_index_init(&back);
	cr_assert_eq(lks_apt_index_restore(&ctx, &back, "k1", snap.data, snap.len), 0, "%s",
	             ctx.err);
	cr_expect(same_answers(&idx, &back));
	cr_expect_eq(lks_apt_index_check_all(&ctx, &back), 0, "%s", ctx.err);
	struct lks_apt_policy pol;
	cr_assert_eq(lks_apt_policy_init(&ctx, &pol, &back, NULL, NULL, "amd64"), 0);
	struct lks_apt_request req;
	struct lks_apt_choice c;
	lks_apt_request_parse(&ctx, "curl", &req);
	cr_assert_eq(lks_apt_resolve(&ctx, &pol, &req, &c), 0);
	cr_expect_str_eq(c.pkg->version, "7.88.1-10+deb12u12");
	cr_expect_str_eq(c.release->suite, "stable-updates");
	cr_expect_eq(c.release->date_epoch, 1686387438);
	lks_apt_policy_free(&pol);
	lks_apt_index_free(&back);
	cr_expect_eq(lks_apt_index_restore(&ctx, &back, "k2", snap.data, snap.len),
	             -LKS_E_CONFLICT);
	for (size_t n = 0; n < snap.len; n += 7) {
		lks_apt_index_init(&back);
		cr_expect_lt(lks_apt_index_restore(&ctx, &back, "k1", snap.data, n), 0, "len %zu",
		             n);
		cr_expect_eq(back.n_pkgs, 0);
		lks_apt_index_free(&back);
	}
	uint32_t v2 = 2; /* the format before snapshots were mapped */
	memcpy(snap.data + 8, &v2, 4);
	cr_expect_eq(lks_apt_index_restore(&ctx, &back, "k1", snap.data, snap.len),
	             -LKS_E_VERSION);
	cr_expect(strstr(ctx.err, "version 2 is not supported"), "%s", ctx.err);
	lks_buf_free(&snap);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

/* The fixture index, built, and its snapshot. */
static void saved_index(struct lks_ctx *ctx, struct lks_apt_index *idx, struct lks_buf *snap)
{
	lks_ctx_init(ctx);
	build_index(ctx, idx);
	lks_buf_init(snap, 0);
	cr_assert_eq(lks_apt_index_save(ctx, idx, "k1", snap), 0, "%s", ctx->err);
}

/* Any one byte changed anywhere: the snapshot is refused when opened, or a lookup that meets
 * the damage marks the index damaged (so the caller rebuilds), or the byte was padding and every
 * answer is unchanged. Never a wrong answer from a sound-looking index. */
Test(apt_resolve, snapshot_damage_is_never_trusted)
{
	struct lks_ctx ctx;
	struct lks_apt_index idx;
	struct lks_buf snap;
	saved_index(&ctx, &idx, &snap);
	size_t refused = 0, caught = 0, harmless = 0;
	for (size_t off = 0; off < snap.len; off++) {
		snap.data[off] ^= 0x41;
		struct lks_apt_index back;
		lks_apt_index_init(&back);
		if (lks_apt_index_restore(&ctx, &back, "k1", snap.data, snap.len) < 0) {
			refused++;
		} else {
			bool same = same_answers(&idx, &back);
			bool damaged = lks_apt_index_damaged(&back) ||
			               lks_apt_index_check_all(&ctx, &back) < 0;
			cr_assert(same || damaged, "byte %zu: a wrong answer from a snapshot that "
			                           "looks sound", off);
			caught += damaged;
			harmless += !damaged;
		}
		lks_apt_index_free(&back);
		snap.data[off] ^= 0x41;
	}
	cr_log_info("%zu bytes: %zu refused when opened, %zu caught on use, %zu padding",
	            snap.len, refused, caught, harmless);
	cr_expect_gt(caught, 0);
	cr_expect_gt(refused, 0);
	lks_buf_free(&snap);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

/* Damage that passes the checksums (as if they had been forged) still cannot make a lookup
 * read outside the file or loop: bounds are checked on every access (ASan watches). */
Test(apt_resolve, snapshot_resealed_damage_stays_in_bounds)
{
	struct lks_ctx ctx;
	struct lks_apt_index idx;
	struct lks_buf snap;
	saved_index(&ctx, &idx, &snap);
	static const unsigned char flips[] = {0x01, 0x80, 0xff, 0x10};
	for (size_t off = 0; off < snap.len; off += 3) {
		struct lks_buf bad;
		lks_buf_init(&bad, 0);
		lks_buf_append(&bad, snap.data, snap.len);
		bad.data[off] ^= (char)flips[off % 4];
		apt_snap_reseal(bad.data, bad.len);
		struct lks_apt_index back;
		lks_apt_index_init(&back);
		if (lks_apt_index_restore(&ctx, &back, "k1", bad.data, bad.len) == 0) {
			for (size_t i = 0; i < back.n_pkgs; i++) {
				const struct lks_apt_pkg *p = lks_apt_index_at(&back, i);
				for (const struct lks_apt_pkg *q = p ? lks_apt_index_find(&back, p->name)
				                                     : NULL;
				     q; q = lks_apt_index_next(&back, q)) {
					cr_assert_lt(q->pfile, back.n_pfiles);
				}
			}
		}
		lks_apt_index_free(&back);
		lks_buf_free(&bad);
	}
	lks_buf_free(&snap);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

/* apt_pin: RUN commands rewritten with the candidates; the rest is kept byte for byte. */
Test(apt_pin, rewrite_table)
{
	static const struct {
		const char *cmd, *want;
		int failures;
	} pins[] = {
	    {"apt-get update && apt-get install -y --no-install-recommends curl tini",
	     "apt-get update && apt-get install -y --no-install-recommends "
	     "curl=7.88.1-10+deb12u12 tini=0.19.0-1",
	     0},
	    {"apt-get install -y 'curl' \\\n  epochy # c\n",
	     "apt-get install -y curl=7.88.1-10+deb12u12 \\\n  epochy=1:1.0-1 # c\n", 0},
	    {"apt-get -t experimental install -y curl; apt-get install curl/experimental",
	     "apt-get -t experimental install -y curl=8.5.0-1; apt-get install curl=8.5.0-1", 0},
	    {"apt install -y curl=7.88.1-10+deb12u5 mail-transport-agent",
	     "apt install -y curl=7.88.1-10+deb12u5 exim-like=4.96-15", 0},
	    {"apt-get install -y $PKGS curl=0.1 nosuch ./x.deb tini",
	     "apt-get install -y $PKGS curl=0.1 nosuch ./x.deb tini=0.19.0-1", 4},
	    {"sh -c 'apt-get install -y curl'", "sh -c 'apt-get install -y curl'", 0},
	};
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_index idx;
	lks_apt_index_init(&idx);
	for (size_t i = 0; i < sizeof(suites) / sizeof(suites[0]); i++) {
		add_suite(&ctx, &idx, i, false);
	}
	struct lks_apt_policy pol;
	cr_assert_eq(lks_apt_policy_init(&ctx, &pol, &idx, NULL, NULL, "amd64"), 0);
	for (size_t i = 0; i < sizeof(pins) / sizeof(pins[0]); i++) {
		struct lks_buf out;
		lks_buf_init(&out, 0);
		struct lks_apt_rewrite_result res = {0};
		cr_expect_eq(lks_apt_rewrite_command(&ctx, &pol, pins[i].cmd, strlen(pins[i].cmd),
		                                     &out, &res),
		             0);
		cr_expect_str_eq(out.data, pins[i].want);
		int failures = 0;
		for (size_t j = 0; j < res.n; j++) {
			failures += res.v[j].rc < 0;
		}
		cr_expect_eq(failures, pins[i].failures, "%s", pins[i].cmd);
		lks_apt_rewrite_result_free(&res);
		lks_buf_free(&out);
	}
	lks_apt_policy_free(&pol);
	lks_apt_index_free(&idx);
	lks_ctx_free(&ctx);
}

Test(apt_sources, preferences_like_apt)
{
	static const char ok[] = "Package: a b\nPin: release n=x, a=y\nPin-Priority: 700\n\n"
	                         "Package: *\nPin: bogus thing\nPin-Priority: 5\n\n"
	                         "Package: c\nPin: version 1.*\nPin-Priority: 0\n\n"
	                         "Package: *\nPin: version 1.*\nPin-Priority: 5\n\n"
	                         "# comment\nPackage: d\nPin: origin \"\"\nPin-Priority: -1\n";
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_apt_prefs p;
	lks_apt_prefs_init(&p);
	cr_assert_eq(lks_apt_prefs_parse(&ctx, &p, "prefs", ok, strlen(ok)), 0, "%s", ctx.err);
	cr_assert_eq(p.n, 3);
	cr_expect_str_eq(p.v[1].package, "b");
	cr_expect_str_eq(p.v[0].data, "n=x, a=y");
	cr_expect_eq(p.v[2].type, LKS_APT_PIN_ORIGIN);
	cr_expect_eq(p.v[2].priority, -1);
	cr_expect(strstr(ctx.warn, "ignoring pin 'bogus thing'"), "%s", ctx.warn);
	cr_expect(strstr(ctx.warn, "non-zero"), "%s", ctx.warn);
	lks_apt_prefs_free(&p);
	static const char bad[] = "Pin: release a=x\nPin-Priority: 5\n";
	cr_expect_eq(lks_apt_prefs_parse(&ctx, &p, "prefs", bad, strlen(bad)), -LKS_E_PARSE);
	lks_apt_prefs_free(&p);
	lks_ctx_free(&ctx);
}
