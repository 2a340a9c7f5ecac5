/* Streaming archive reader over libarchive: the only file that calls libarchive, which it loads
 * when the first archive is opened (common/dynlib.h).
 *
 * Every source (fd, memory, callback) goes through one read callback so libarchive never
 * seeks and never touches the file system. Caps are checked as bytes come out, not after the
 * fact: a claimed size is rejected at the header, the ratio is measured against the compressed
 * bytes libarchive actually consumed (archive_filter_bytes(a, -1)).
 *
 * A gzip source is inflated by ISA-L when it is installed (common/inflate.h: about twice as fast
 * as zlib), between the source and libarchive, which then reads a plain tar; otherwise, and for
 * zip, libarchive's own zlib path inflates. Both report the filter "gzip", stop at the same place
 * (the end of the last member followed by anything but another gzip header) and fail the same
 * way on damage.
 */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include "common/dynlib.h"
#include "common/inflate.h"
#include "lockstep/array.h"
#include "lockstep/archive.h"
#include "lockstep/buf.h"
#include "lockstep/cleanup.h"
#include "lockstep/ctx.h"
#include "lockstep/digest.h"
#include "lockstep/error.h"

#define LKS_ARCHIVE_MAX_PATH 4096
#define LKS_ARCHIVE_MAX_XATTRS 4096
#define LKS_ARCHIVE_MAX_XATTR_BYTES ((size_t)1 << 20) /* names and values of one entry */
#define LKS_ARCHIVE_RATIO_FLOOR ((uint64_t)64 << 20)
#define LKS_ARCHIVE_CHUNK ((size_t)64 << 10)
#define LKS_ARCHIVE_MAX_RETRY 16
#define LKS_ARCHIVE_GZ_OUT ((size_t)128 << 10)

/* libarchive is loaded when the first archive is opened (see common/dynlib.h); every call goes
 * through this table. */
#define ARCHIVE_FNS(X)                                                                             \
	X(entry_atime) X(entry_atime_is_set) X(entry_atime_nsec) X(entry_ctime)                    \
	X(entry_ctime_is_set) X(entry_ctime_nsec) X(entry_filetype) X(entry_gid) X(entry_gname)    \
	X(entry_hardlink) X(entry_mtime) X(entry_mtime_nsec) X(entry_pathname) X(entry_perm)       \
	X(entry_rdev) X(entry_size) X(entry_size_is_set) X(entry_symlink) X(entry_uid)             \
	X(entry_uname) X(entry_xattr_next) X(entry_xattr_reset) X(error_string) X(filter_bytes)    \
	X(filter_count) X(filter_name) X(read_data) X(read_data_block) X(read_free) X(read_new)    \
	X(read_next_header) X(read_open) X(read_support_filter_bzip2)                              \
	X(read_support_filter_compress) X(read_support_filter_gzip) X(read_support_filter_lz4)     \
	X(read_support_filter_lzip) X(read_support_filter_lzma) X(read_support_filter_xz)          \
	X(read_support_filter_zstd) X(read_support_format_all) X(read_support_format_empty)        \
	X(read_support_format_raw) X(read_support_format_tar) X(read_support_format_zip)           \
	X(set_error)

static struct {
#define X(f) __typeof__(archive_##f) *f;
	ARCHIVE_FNS(X)
#undef X
} la;

static const struct dynlib_sym archive_syms[] = {
#define X(f) {"archive_" #f, &la.f},
    ARCHIVE_FNS(X)
#undef X
};

static struct dynlib archive_lib = DYNLIB_INIT(LKS_LIBARCHIVE_SONAME, archive_syms);

enum src_kind { SRC_FD, SRC_MEM, SRC_CB };

struct lks_archive {
	struct lks_ctx *ctx;
	struct archive *ar;
	struct lks_archive_limits lim;
	enum lks_archive_mode mode;
	enum src_kind kind;
	int fd;
	const unsigned char *mem;
	size_t mem_len, mem_off;
	lks_archive_read_fn fn;
	void *opaque;
	unsigned char *chunk; /* read buffer for fd and callback sources */
	int src_err;          /* error from the source itself, passed through */
	int failed;           /* sticky error: every later call returns it */
	bool in_entry;        /* an entry is current and its data not fully read */
	bool at_end;
	uint64_t entries;
	uint64_t total;      /* uncompressed entry data bytes so far */
	uint64_t entry_read; /* data bytes of the current entry so far */
	struct lks_archive_entry ent;
	size_t xattr_cap;
	char filters[128];
	bool sniffed;              /* the first bytes were looked at for a gzip header */
	struct inflate_gz *gz;     /* ISA-L inflating the source, NULL when libarchive does */
	const unsigned char *zin;  /* source bytes not yet passed on (in chunk or mem) */
	size_t zin_len;
	bool src_eof;              /* the source has no more bytes */
	bool gz_member_end;        /* a gzip member ended: another may follow */
	bool gz_done;              /* the last member ended */
	uint64_t gz_in;            /* compressed bytes inflated so far */
	unsigned char *gz_out;     /* inflated bytes handed to libarchive */
};

/* libarchive converts header names "to the current locale", so the locale decides what paths
 * look like, and the library must not depend on (or change) the process locale. Tar: in the C
 * locale a name that is not ASCII fails conversion and libarchive keeps the stored bytes (with
 * a warning we drop), which is exactly the byte-exact path we want; under a UTF-8 locale it
 * would NFC-normalise names. Zip: names flagged UTF-8 are lost (NULL) in the C locale, so zip
 * reads under C.UTF-8 and gets NFC-normalised UTF-8. The calling thread switches locale only
 * around the libarchive calls that read headers. */
static locale_t c_locale, utf8_locale;
static pthread_once_t locale_once = PTHREAD_ONCE_INIT;

static void locales_init(void)
{
	c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
	utf8_locale = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
}

static locale_t enter_locale(const struct lks_archive *a)
{
	pthread_once(&locale_once, locales_init);
	locale_t want = a->mode == LKS_ARCHIVE_ZIP ? utf8_locale : c_locale;
	return want ? uselocale(want) : (locale_t)0;
}

static void leave_locale(locale_t old)
{
	if (old) {
		uselocale(old);
	}
}

/* The tar reader keeps the stored bytes when this happens: nothing to warn about. */
static bool is_conversion_warning(const char *msg)
{
	return msg && strstr(msg, "converted from") && strstr(msg, "to current locale");
}

static const struct lks_archive_limits default_limits = {
    .max_entries = 10000000,
    .max_entry_size = (uint64_t)64 << 30,
    .max_total = (uint64_t)256 << 30,
    .max_ratio = 1000,
};

static void set_limits(struct lks_archive *a, const struct lks_archive_limits *lim)
{
	a->lim = default_limits;
	if (!lim) {
		return;
	}
	if (lim->max_entries) {
		a->lim.max_entries = lim->max_entries;
	}
	if (lim->max_entry_size) {
		a->lim.max_entry_size = lim->max_entry_size;
	}
	if (lim->max_total) {
		a->lim.max_total = lim->max_total;
	}
	if (lim->max_ratio) {
		a->lim.max_ratio = lim->max_ratio;
	}
}

static la_ssize_t read_fd(struct lks_archive *a, unsigned char *dst, size_t room)
{
	for (;;) {
		ssize_t n = read(a->fd, dst, room);
		if (n >= 0) {
			return n;
		}
		if (errno != EINTR) {
			int e = errno;
			a->src_err = lks_err(a->ctx, -e, "cannot read archive: %s", strerror(e));
			la.set_error(a->ar, e, "read failed: %s", strerror(e));
			return -1;
		}
	}
}

/* Up to `room` more bytes of the source into dst (fd and callback sources): count, 0 at the
 * end, -1 on error. */
static la_ssize_t raw_read(struct lks_archive *a, unsigned char *dst, size_t room)
{
	if (a->kind == SRC_FD) {
		return read_fd(a, dst, room);
	}
	/* Cleared so that a detail the callback records is the one reported. */
	a->ctx->err[0] = '\0';
	long n = a->fn(a->opaque, dst, room);
	if (n < 0 || (size_t)n > room) {
		a->src_err = n < 0 ? (int)n : -LKS_E_INVAL;
		la.set_error(a->ar, EIO, "read callback failed");
		return -1;
	}
	return n;
}

/* Make at least `need` unconsumed source bytes available in zin, unless the source ends first.
 * Memory sources are whole from the start; the others refill the chunk behind what is left. */
static int fill(struct lks_archive *a, size_t need)
{
	if (a->kind == SRC_MEM && !a->src_eof) {
		a->zin = a->mem;
		a->zin_len = a->mem_len;
		a->mem_off = a->mem_len;
		a->src_eof = true;
	}
	while (a->zin_len < need && !a->src_eof) {
		if (a->zin_len && a->zin != a->chunk) {
			memmove(a->chunk, a->zin, a->zin_len);
		}
		a->zin = a->chunk;
		la_ssize_t n = raw_read(a, a->chunk + a->zin_len, LKS_ARCHIVE_CHUNK - a->zin_len);
		if (n < 0) {
			return -1;
		}
		a->src_eof = n == 0;
		a->zin_len += (size_t)n;
	}
	return 0;
}

static la_ssize_t gz_fail(struct lks_archive *a, const char *why)
{
	a->src_err = lks_err(a->ctx, -LKS_E_ARCHIVE, "cannot inflate gzip data: %s", why);
	la.set_error(a->ar, EIO, "gzip: %s", why);
	return -1;
}

/* At the end of a member: another follows only if a gzip header does (as libarchive does,
 * anything else after the last member is left unread). */
static int gz_next_member(struct lks_archive *a)
{
	if (fill(a, 3) < 0) {
		return -1;
	}
	if (!inflate_gz_magic(a->zin, a->zin_len)) {
		a->gz_done = true;
		return 0;
	}
	inflate_gz_next_member(a->gz);
	a->gz_member_end = false;
	return 0;
}

/* One step of ISA-L over the unconsumed source bytes into io. */
static int gz_step(struct lks_archive *a, struct inflate_io *io)
{
	if (fill(a, 1) < 0) {
		return -1;
	}
	if (!a->zin_len) {
		return (int)gz_fail(a, "truncated gzip input");
	}
	io->in = a->zin;
	io->in_len = a->zin_len;
	size_t out0 = io->out_len;
	const char *why = NULL;
	int r = inflate_gz_step(a->gz, io, &why);
	size_t used = a->zin_len - io->in_len;
	a->zin = io->in;
	a->zin_len = io->in_len;
	a->gz_in += used;
	if (r < 0) {
		return (int)gz_fail(a, why);
	}
	if (r == 0 && !used && io->out_len == out0) {
		return (int)gz_fail(a, a->src_eof ? "truncated gzip input" : "inflate made no progress");
	}
	a->gz_member_end = r == 1;
	return 0;
}

/* The next block of inflated bytes for libarchive (0 after the last member). */
static la_ssize_t gz_read(struct lks_archive *a, const void **buf)
{
	struct inflate_io io = {.out = a->gz_out, .out_len = LKS_ARCHIVE_GZ_OUT};
	while (io.out_len > 0 && !a->gz_done) {
		int rc = a->gz_member_end ? gz_next_member(a) : gz_step(a, &io);
		if (rc < 0) {
			return -1;
		}
	}
	*buf = a->gz_out;
	return (la_ssize_t)(LKS_ARCHIVE_GZ_OUT - io.out_len);
}

/* The first bytes decide who inflates: ISA-L for gzip when it can be loaded (zip archives hold
 * deflate streams of their own and stay with libarchive). */
static la_ssize_t sniff(struct lks_archive *a, const void **buf)
{
	a->sniffed = true;
	a->zin = a->chunk;
	if (fill(a, 3) < 0) {
		return -1;
	}
	if (a->mode != LKS_ARCHIVE_ZIP && inflate_gz_magic(a->zin, a->zin_len) &&
	    inflate_gz_new(&a->gz) == 0) {
		if (!(a->gz_out = malloc(LKS_ARCHIVE_GZ_OUT))) {
			a->src_err = lks_err(a->ctx, -ENOMEM, "out of memory");
			return -1;
		}
		return gz_read(a, buf);
	}
	*buf = a->zin;
	la_ssize_t n = (la_ssize_t)a->zin_len;
	a->zin_len = 0;
	return n;
}

static la_ssize_t source_read(struct archive *ar, void *opaque, const void **buf)
{
	(void)ar;
	struct lks_archive *a = opaque;
	if (!a->sniffed) {
		return sniff(a, buf);
	}
	if (a->gz) {
		return gz_read(a, buf);
	}
	if (a->kind == SRC_MEM) {
		size_t n = a->mem_len - a->mem_off;
		*buf = a->mem + a->mem_off;
		a->mem_off += n;
		return (la_ssize_t)n;
	}
	if (a->src_eof) {
		return 0;
	}
	la_ssize_t n = raw_read(a, a->chunk, LKS_ARCHIVE_CHUNK);
	*buf = a->chunk;
	return n;
}

/* Compression filters only: the "all" set would also run external programs (lrzip, grzip). */
static int support_filters(struct archive *ar)
{
	int (*const fns[])(struct archive *) = {
	    la.read_support_filter_gzip, la.read_support_filter_bzip2,
	    la.read_support_filter_xz,   la.read_support_filter_lzma,
	    la.read_support_filter_lzip, la.read_support_filter_zstd,
	    la.read_support_filter_lz4,  la.read_support_filter_compress,
	};
	for (size_t i = 0; i < ARRAY_SIZE(fns); i++) {
		int rc = fns[i](ar);
		if (rc != ARCHIVE_OK && rc != ARCHIVE_WARN) {
			return rc;
		}
	}
	return ARCHIVE_OK;
}

static int support_formats(struct archive *ar, enum lks_archive_mode mode)
{
	switch (mode) {
	case LKS_ARCHIVE_TAR:
		if (la.read_support_format_tar(ar) != ARCHIVE_OK) {
			return ARCHIVE_FATAL;
		}
		return la.read_support_format_empty(ar);
	case LKS_ARCHIVE_ZIP:
		return la.read_support_format_zip(ar);
	case LKS_ARCHIVE_RAW:
		if (la.read_support_format_raw(ar) != ARCHIVE_OK) {
			return ARCHIVE_FATAL;
		}
		return la.read_support_format_empty(ar);
	case LKS_ARCHIVE_ANY:
		return la.read_support_format_all(ar);
	}
	return ARCHIVE_FATAL;
}

static void archive_freep_entry(struct lks_archive *a)
{
	for (size_t i = 0; i < a->ent.n_xattrs; i++) {
		free(a->ent.xattrs[i].name);
		free(a->ent.xattrs[i].value);
	}
	a->ent.n_xattrs = 0;
}

void lks_archive_close(struct lks_archive *a)
{
	if (!a) {
		return;
	}
	archive_freep_entry(a);
	free(a->ent.xattrs);
	if (a->ar) {
		la.read_free(a->ar);
	}
	free(a->chunk);
	inflate_gz_free(a->gz);
	free(a->gz_out);
	free(a);
}
DEFINE_CLEANUP_FUNC(struct lks_archive, lks_archive_close)

/* The error for a libarchive failure: the source's own error wins over libarchive's echo. */
static int fail(struct lks_archive *a, const char *what)
{
	if (a->src_err) {
		if (!a->ctx->err[0]) {
			lks_err(a->ctx, a->src_err, "cannot read archive: %s",
			        lks_strerror(a->src_err));
		}
		return a->failed = a->src_err;
	}
	const char *msg = la.error_string(a->ar);
	a->failed = lks_err(a->ctx, -LKS_E_ARCHIVE, "%s: %s", what, msg ? msg : "unknown error");
	return a->failed;
}

static int archive_open_common(struct lks_archive *a, struct lks_archive **out)
{
	_cleanup_(lks_archive_closep) struct lks_archive *owned = a;
	int rc = dynlib_load(a->ctx, &archive_lib, "reading archives");
	if (rc < 0) {
		return rc;
	}
	a->ar = la.read_new();
	if (!a->ar) {
		return lks_err(a->ctx, -ENOMEM, "cannot allocate archive reader");
	}
	if (support_filters(a->ar) != ARCHIVE_OK || support_formats(a->ar, a->mode) != ARCHIVE_OK) {
		return fail(a, "cannot set up archive reader");
	}
	locale_t old = enter_locale(a);
	int r = la.read_open(a->ar, a, NULL, source_read, NULL);
	leave_locale(old);
	if (r != ARCHIVE_OK) {
		return fail(a, "cannot open archive");
	}
	*out = TAKE_PTR(owned);
	return 0;
}

static struct lks_archive *archive_alloc(struct lks_ctx *ctx, enum lks_archive_mode mode,
                                         const struct lks_archive_limits *lim, bool chunk)
{
	struct lks_archive *a = calloc(1, sizeof(*a));
	if (!a) {
		return NULL;
	}
	a->ctx = ctx;
	a->mode = mode;
	a->fd = -1;
	set_limits(a, lim);
	if (chunk && !(a->chunk = malloc(LKS_ARCHIVE_CHUNK))) {
		free(a);
		return NULL;
	}
	return a;
}

int lks_archive_open_fd(struct lks_ctx *ctx, struct lks_archive **out, int fd,
                        enum lks_archive_mode mode, const struct lks_archive_limits *lim)
{
	struct lks_archive *a = archive_alloc(ctx, mode, lim, true);
	if (!a) {
		return lks_err(ctx, -ENOMEM, "cannot allocate archive reader");
	}
	a->kind = SRC_FD;
	a->fd = fd;
	return archive_open_common(a, out);
}

int lks_archive_open_mem(struct lks_ctx *ctx, struct lks_archive **out, const void *p, size_t n,
                         enum lks_archive_mode mode, const struct lks_archive_limits *lim)
{
	struct lks_archive *a = archive_alloc(ctx, mode, lim, false);
	if (!a) {
		return lks_err(ctx, -ENOMEM, "cannot allocate archive reader");
	}
	a->kind = SRC_MEM;
	a->mem = p;
	a->mem_len = n;
	return archive_open_common(a, out);
}

int lks_archive_open_cb(struct lks_ctx *ctx, struct lks_archive **out, lks_archive_read_fn fn,
                        void *opaque, enum lks_archive_mode mode,
                        const struct lks_archive_limits *lim)
{
	struct lks_archive *a = archive_alloc(ctx, mode, lim, true);
	if (!a) {
		return lks_err(ctx, -ENOMEM, "cannot allocate archive reader");
	}
	a->kind = SRC_CB;
	a->fn = fn;
	a->opaque = opaque;
	return archive_open_common(a, out);
}

/* Decompression bombs: past a floor, uncompressed output may not outgrow its input. */
static int check_ratio(struct lks_archive *a)
{
	uint64_t out = (uint64_t)la.filter_bytes(a->ar, 0);
	if (a->total > out) {
		out = a->total;
	}
	if (out <= LKS_ARCHIVE_RATIO_FLOOR) {
		return 0;
	}
	uint64_t in = a->gz ? a->gz_in : (uint64_t)la.filter_bytes(a->ar, -1);
	if (in == 0 || out / in > a->lim.max_ratio) {
		a->failed = lks_err(a->ctx, -LKS_E_UNSAFE,
		                    "archive looks like a decompression bomb: %llu bytes from %llu "
		                    "compressed (ratio limit %llu)",
		                    (unsigned long long)out, (unsigned long long)in,
		                    (unsigned long long)a->lim.max_ratio);
		return a->failed;
	}
	return 0;
}

static int account(struct lks_archive *a, size_t n)
{
	a->entry_read += n;
	a->total += n;
	if (a->entry_read > a->lim.max_entry_size) {
		return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
		                           "archive entry '%s' is larger than %llu bytes",
		                           a->ent.path, (unsigned long long)a->lim.max_entry_size);
	}
	if (a->total > a->lim.max_total) {
		return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
		                           "archive holds more than %llu uncompressed bytes",
		                           (unsigned long long)a->lim.max_total);
	}
	return check_ratio(a);
}

long lks_archive_read(struct lks_archive *a, void *buf, size_t n)
{
	if (a->failed) {
		return a->failed;
	}
	if (!a->in_entry || n == 0) {
		return 0;
	}
	for (int tries = 0;; tries++) {
		la_ssize_t got = la.read_data(a->ar, buf, n);
		if (got == 0) {
			a->in_entry = false;
			return 0;
		}
		if (got > 0) {
			int rc = account(a, (size_t)got);
			return rc < 0 ? rc : (long)got;
		}
		if (got == ARCHIVE_WARN) {
			lks_warn(a->ctx, "archive entry '%s': %s", a->ent.path,
			         la.error_string(a->ar));
		}
		if ((got != ARCHIVE_WARN && got != ARCHIVE_RETRY) ||
		    tries >= LKS_ARCHIVE_MAX_RETRY) {
			return fail(a, "cannot read archive entry data");
		}
	}
}

int lks_archive_sha256(struct lks_archive *a, uint8_t out[static 32], int64_t *size)
{
	static __thread char buf[1 << 16];
	struct lks_sha256 h;
	if (lks_sha256_init(&h) < 0) {
		return -LKS_E_CRYPTO;
	}
	long got;
	int64_t total = 0;
	while ((got = lks_archive_read(a, buf, sizeof(buf))) > 0) {
		if (lks_sha256_update(&h, buf, (size_t)got) < 0) {
			lks_sha256_free(&h);
			return -LKS_E_CRYPTO;
		}
		total += got;
	}
	if (got < 0) {
		lks_sha256_free(&h);
		return (int)got;
	}
	*size = total;
	return lks_sha256_final_raw(&h, out) < 0 ? -LKS_E_CRYPTO : 0;
}

/* Skip the unread rest of the current entry through the same caps as reading it. */
static int drain(struct lks_archive *a)
{
	while (a->in_entry) {
		const void *p;
		size_t n;
		la_int64_t off;
		int r = la.read_data_block(a->ar, &p, &n, &off);
		if (r == ARCHIVE_EOF) {
			a->in_entry = false;
			break;
		}
		if (r == ARCHIVE_WARN) {
			lks_warn(a->ctx, "archive entry '%s': %s", a->ent.path,
			         la.error_string(a->ar));
		} else if (r != ARCHIVE_OK) {
			return fail(a, "cannot read archive entry data");
		}
		int rc = account(a, n);
		if (rc < 0) {
			return rc;
		}
	}
	return 0;
}

static void fill_filters(struct lks_archive *a)
{
	if (a->filters[0]) {
		return;
	}
	size_t len = a->gz ? (size_t)snprintf(a->filters, sizeof(a->filters), "gzip") : 0;
	int count = la.filter_count(a->ar);
	for (int i = 0; i < count; i++) {
		const char *name = la.filter_name(a->ar, i);
		if (!name || !strcmp(name, "none")) {
			continue;
		}
		int w = snprintf(a->filters + len, sizeof(a->filters) - len, "%s%s", len ? "," : "",
		                 name);
		if (w < 0 || (size_t)w >= sizeof(a->filters) - len) {
			break;
		}
		len += (size_t)w;
	}
	if (!a->filters[0]) {
		snprintf(a->filters, sizeof(a->filters), "none");
	}
}

const char *lks_archive_filter_name(struct lks_archive *a)
{
	fill_filters(a);
	return a->filters;
}

const char *lks_archive_inflater(const struct lks_archive *a)
{
	return a->gz ? "isa-l" : "libarchive";
}

static char entry_type(struct archive_entry *e)
{
	if (la.entry_hardlink(e)) {
		return 'h';
	}
	switch (la.entry_filetype(e)) {
	case AE_IFREG:
		return 'f';
	case AE_IFDIR:
		return 'd';
	case AE_IFLNK:
		return 'l';
	case AE_IFCHR:
		return 'c';
	case AE_IFBLK:
		return 'b';
	case AE_IFIFO:
		return 'p';
	default:
		return '?';
	}
}

static int copy_xattr(struct lks_archive *a, const char *name, const void *value, size_t size)
{
	if (LKS_GROW(a->ent.xattrs, a->xattr_cap, a->ent.n_xattrs + 1, 8) < 0) {
		return -ENOMEM;
	}
	struct lks_xattr *x = &a->ent.xattrs[a->ent.n_xattrs];
	x->name = strdup(name ? name : "");
	/* One spare NUL so text values can be printed; size stays exact. */
	x->value = malloc(size + 1);
	if (!x->name || !x->value) {
		free(x->name);
		free(x->value);
		return -ENOMEM;
	}
	if (size) {
		memcpy(x->value, value, size);
	}
	((char *)x->value)[size] = '\0';
	x->size = size;
	a->ent.n_xattrs++;
	return 0;
}

static int fill_xattrs(struct lks_archive *a, struct archive_entry *e)
{
	if ((size_t)la.entry_xattr_reset(e) > LKS_ARCHIVE_MAX_XATTRS) {
		return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
		                           "archive entry '%s' has more than %d xattrs",
		                           a->ent.path, LKS_ARCHIVE_MAX_XATTRS);
	}
	const char *name;
	const void *value;
	size_t size, total = 0;
	while (la.entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		total += strlen(name ? name : "") + size;
		if (total > LKS_ARCHIVE_MAX_XATTR_BYTES) {
			return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
			                           "archive entry '%s' has more than %zu bytes of "
			                           "xattrs",
			                           a->ent.path, LKS_ARCHIVE_MAX_XATTR_BYTES);
		}
		if (copy_xattr(a, name, value, size) < 0) {
			return a->failed = lks_err(a->ctx, -ENOMEM, "out of memory reading xattrs");
		}
	}
	return 0;
}

static void fill_times(struct lks_archive_entry *o, struct archive_entry *e)
{
	o->mtime.tv_sec = la.entry_mtime(e);
	o->mtime.tv_nsec = la.entry_mtime_nsec(e);
	o->atime_set = la.entry_atime_is_set(e);
	o->atime.tv_sec = o->atime_set ? la.entry_atime(e) : 0;
	o->atime.tv_nsec = o->atime_set ? la.entry_atime_nsec(e) : 0;
	o->ctime_set = la.entry_ctime_is_set(e);
	o->ctime.tv_sec = o->ctime_set ? la.entry_ctime(e) : 0;
	o->ctime.tv_nsec = o->ctime_set ? la.entry_ctime_nsec(e) : 0;
}

static int check_entry_caps(struct lks_archive *a)
{
	struct lks_archive_entry *o = &a->ent;
	size_t plen = strlen(o->path);
	if (plen > LKS_ARCHIVE_MAX_PATH || (o->link && strlen(o->link) > LKS_ARCHIVE_MAX_PATH)) {
		return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
		                           "archive entry '%.64s...' has a path or link target "
		                           "longer than %d bytes",
		                           o->path, LKS_ARCHIVE_MAX_PATH);
	}
	if (o->size_set && o->size < 0) {
		return a->failed = lks_err(a->ctx, -LKS_E_ARCHIVE,
		                           "archive entry '%s' has a negative size", o->path);
	}
	uint64_t size = o->size_set ? (uint64_t)o->size : 0;
	if (size > a->lim.max_entry_size) {
		return a->failed = lks_err(a->ctx, -LKS_E_TOOBIG,
		                           "archive entry '%s' claims %llu bytes (limit %llu)",
		                           o->path, (unsigned long long)size,
		                           (unsigned long long)a->lim.max_entry_size);
	}
	if (size > a->lim.max_total - a->total) {
		return a->failed = lks_err(
		           a->ctx, -LKS_E_TOOBIG,
		           "archive entry '%s' claims %llu bytes, more than the %llu "
		           "total allowed",
		           o->path, (unsigned long long)size, (unsigned long long)a->lim.max_total);
	}
	return 0;
}

static int fill_entry(struct lks_archive *a, struct archive_entry *e)
{
	struct lks_archive_entry *o = &a->ent;
	archive_freep_entry(a);
	o->path = la.entry_pathname(e);
	if (!o->path) {
		return a->failed = lks_err(a->ctx, -LKS_E_ARCHIVE,
		                           "archive entry %llu has a name that cannot be decoded",
		                           (unsigned long long)a->entries);
	}
	o->type = entry_type(e);
	o->mode = la.entry_perm(e) & 07777;
	o->uid = la.entry_uid(e);
	o->gid = la.entry_gid(e);
	o->uname = la.entry_uname(e);
	o->gname = la.entry_gname(e);
	o->size_set = la.entry_size_is_set(e);
	o->size = o->size_set ? la.entry_size(e) : 0;
	fill_times(o, e);
	o->link = la.entry_hardlink(e);
	if (!o->link && o->type == 'l') {
		o->link = la.entry_symlink(e);
	}
	o->rdev = la.entry_rdev(e);
	int rc = check_entry_caps(a);
	if (rc < 0) {
		return rc;
	}
	return fill_xattrs(a, e);
}

static int next_header(struct lks_archive *a, struct archive_entry **e)
{
	for (int tries = 0;; tries++) {
		locale_t old = enter_locale(a);
		int r = la.read_next_header(a->ar, e);
		leave_locale(old);
		if (r == ARCHIVE_OK || r == ARCHIVE_EOF) {
			return r;
		}
		if (r == ARCHIVE_WARN) {
			const char *msg = la.error_string(a->ar);
			const char *p = *e ? la.entry_pathname(*e) : NULL;
			if (!is_conversion_warning(msg) || a->mode == LKS_ARCHIVE_ZIP) {
				lks_warn(a->ctx, "archive entry '%s': %s", p ? p : "", msg);
			}
			return ARCHIVE_OK;
		}
		if (r != ARCHIVE_RETRY || tries >= LKS_ARCHIVE_MAX_RETRY) {
			return fail(a, "cannot read archive header");
		}
	}
}

int lks_archive_next(struct lks_archive *a, struct lks_archive_entry **out)
{
	if (a->failed) {
		return a->failed;
	}
	if (a->at_end) {
		return 0;
	}
	int rc = drain(a);
	if (rc < 0) {
		return rc;
	}
	struct archive_entry *e = NULL;
	rc = next_header(a, &e);
	if (rc < 0) {
		return rc;
	}
	fill_filters(a);
	if (rc == ARCHIVE_EOF) {
		a->at_end = true;
		return check_ratio(a);
	}
	if (++a->entries > a->lim.max_entries) {
		return a->failed =
		           lks_err(a->ctx, -LKS_E_TOOBIG, "archive has more than %llu entries",
		                   (unsigned long long)a->lim.max_entries);
	}
	/* Names may still be converted lazily while they are read out of the entry. */
	locale_t old = enter_locale(a);
	rc = fill_entry(a, e);
	leave_locale(old);
	if (rc < 0) {
		return rc;
	}
	a->entry_read = 0;
	a->in_entry = true;
	*out = &a->ent;
	return 1;
}

int lks_decompress_mem(struct lks_ctx *ctx, const void *p, size_t n, struct lks_buf *out)
{
	_cleanup_(lks_archive_closep) struct lks_archive *a = NULL;
	int rc = lks_archive_open_mem(ctx, &a, p, n, LKS_ARCHIVE_RAW, NULL);
	if (rc < 0) {
		return rc;
	}
	struct lks_archive_entry *e;
	rc = lks_archive_next(a, &e);
	if (rc <= 0) {
		return rc < 0 ? rc : lks_buf_append(out, "", 0);
	}
	char tmp[65536];
	for (;;) {
		long got = lks_archive_read(a, tmp, sizeof(tmp));
		if (got < 0) {
			return (int)got;
		}
		if (got == 0) {
			return lks_buf_append(out, "", 0);
		}
		rc = lks_buf_append(out, tmp, (size_t)got);
		if (rc < 0) {
			return lks_err(ctx, rc, "decompressed data is larger than %zu bytes",
			               out->max ? out->max : LKS_BUF_DEFAULT_MAX);
		}
	}
}
