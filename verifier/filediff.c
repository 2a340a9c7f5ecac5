/* Comparing two layer indexes entry by entry, on every field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "verifier/explain.h"
#include "lockstep/imgdiff.h"
#include "verifier/normalize.h"
#include "verifier/layerspill.h"

static const char *const field_names[LKS_F_NFIELDS] = {
    "added", "removed", "type",  "content", "size",   "mode", "uid",       "gid",  "uname",
    "gname", "mtime",   "atime", "ctime",   "xattrs", "link", "hardlinks", "rdev",
};

const char *lks_field_name(uint32_t bit)
{
	for (int i = 0; i < LKS_F_NFIELDS; i++) {
		if (bit == (1u << i)) {
			return field_names[i];
		}
	}
	return NULL;
}

static bool str_eq(const char *a, const char *b)
{
	return !strcmp(a ? a : "", b ? b : "");
}

static bool ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

static uint32_t diff_times(const struct lks_fentry *a, const struct lks_fentry *b)
{
	uint32_t f = 0;
	if (!ts_eq(a->mtime, b->mtime)) {
		f |= LKS_F_MTIME;
	}
	if (a->atime_set != b->atime_set || (a->atime_set && !ts_eq(a->atime, b->atime))) {
		f |= LKS_F_ATIME;
	}
	if (a->ctime_set != b->ctime_set || (a->ctime_set && !ts_eq(a->ctime, b->ctime))) {
		f |= LKS_F_CTIME;
	}
	return f;
}

uint32_t lks_diff_entry(const struct lks_fentry *a, const struct lks_fentry *b)
{
	uint32_t f = diff_times(a, b);
	f |= a->type != b->type ? LKS_F_TYPE : 0;
	f |= a->mode != b->mode ? LKS_F_MODE : 0;
	f |= a->uid != b->uid ? LKS_F_UID : 0;
	f |= a->gid != b->gid ? LKS_F_GID : 0;
	f |= !str_eq(a->uname, b->uname) ? LKS_F_UNAME : 0;
	f |= !str_eq(a->gname, b->gname) ? LKS_F_GNAME : 0;
	f |= !str_eq(a->xattrs, b->xattrs) ? LKS_F_XATTR : 0;
	f |= a->rdev != b->rdev ? LKS_F_RDEV : 0;
	f |= !str_eq(a->group, b->group) ? LKS_F_HLGROUP : 0;
	if (a->type == b->type && a->type == 'f') {
		f |= memcmp(a->hash, b->hash, sizeof(a->hash)) ? LKS_F_CONTENT : 0;
		f |= a->size != b->size ? LKS_F_SIZE : 0;
	}
	/* A hardlink's link is its group, compared above; only symlink targets count here. */
	if (a->type == b->type && a->type == 'l') {
		f |= !str_eq(a->link, b->link) ? LKS_F_LINK : 0;
	}
	return f;
}

static int fentry_copy(struct lks_fentry *dst, const struct lks_fentry *src)
{
	*dst = *src;
	dst->group = NULL;
	dst->path = NULL;
	dst->uname = src->uname ? strdup(src->uname) : NULL;
	dst->gname = src->gname ? strdup(src->gname) : NULL;
	dst->link = src->link ? strdup(src->link) : NULL;
	dst->xattrs = src->xattrs ? strdup(src->xattrs) : NULL;
	if ((src->uname && !dst->uname) || (src->gname && !dst->gname) ||
	    (src->link && !dst->link) || (src->xattrs && !dst->xattrs)) {
		return -ENOMEM;
	}
	return 0;
}

void filediff_free(struct lks_file_diff *fd);
void filediff_free(struct lks_file_diff *fd)
{
	free(fd->path);
	free(fd->detail);
	free(fd->text_a);
	free(fd->text_b);
	struct lks_fentry *s[2] = {&fd->a, &fd->b};
	for (int i = 0; i < 2; i++) {
		free(s[i]->uname);
		free(s[i]->gname);
		free(s[i]->link);
		free(s[i]->xattrs);
	}
}

static int keep(struct lks_layer_diff *ld, const struct lks_diff_opts *o, const char *path,
                uint32_t fields, const struct lks_fentry *a, const struct lks_fentry *b)
{
	struct lks_file_diff tmp = {.path = (char *)path, .fields = fields};
	lks_norm_file(o, &tmp);
	ld->n_normalized += (size_t)__builtin_popcount(tmp.ignored);
	ld->n_timestamps += (size_t)__builtin_popcount(tmp.ignored & LKS_F_TIMES);
	if (!tmp.fields) {
		ld->n_files_normalized++;
		return 0;
	}
	if (ld->n_files_differ++ >= LKS_DIFF_MAX_FILES) {
		return 0; /* counted, not kept */
	}
	if (ld->n_files % 64 == 0) {
		void *p = realloc(ld->files, (ld->n_files + 64) * sizeof(*ld->files));
		if (!p) {
			return -ENOMEM;
		}
		ld->files = p;
	}
	struct lks_file_diff *fd = &ld->files[ld->n_files++];
	memset(fd, 0, sizeof(*fd));
	fd->fields = tmp.fields;
	fd->ignored = tmp.ignored;
	fd->has_a = a != NULL;
	fd->has_b = b != NULL;
	const struct lks_noise *why = lks_explain_path(path);
	fd->cause = why ? why->cause : NULL;
	fd->hint = why ? why->hint : NULL;
	int rc = (fd->path = strdup(path)) ? 0 : -ENOMEM;
	if (rc == 0 && a) {
		rc = fentry_copy(&fd->a, a);
	}
	if (rc == 0 && b) {
		rc = fentry_copy(&fd->b, b);
	}
	return rc;
}

/* Entry order: walking B in tar order, the positions of the same paths in A must rise.
 * pos[seq in B] = seq in A + 1 for the paths both have. */
static bool order_differs(const uint32_t *pos, size_t n)
{
	uint32_t last = 0;
	for (size_t i = 0; i < n; i++) {
		if (pos[i] && pos[i] < last) {
			return true;
		}
		last = pos[i] ? pos[i] : last;
	}
	return false;
}

struct join {
	struct lks_layer_cursor *c[2];
	const struct lks_fentry *e[2];
	uint32_t *pos;
	size_t n_pos;
};

static int join_next(struct join *j, int side, size_t *count)
{
	int rc = 0;
	j->e[side] = lks_layer_cursor_next(j->c[side], &rc);
	*count += j->e[side] != NULL;
	return rc;
}

/* Both indexes in path order, side by side: a merge join. */
static int join_run(struct join *j, const struct lks_diff_opts *o, struct lks_layer_diff *ld)
{
	int rc = join_next(j, 0, &ld->n_entries_a);
	rc = rc ? rc : join_next(j, 1, &ld->n_entries_b);
	while (rc == 0 && (j->e[0] || j->e[1])) {
		const struct lks_fentry *ea = j->e[0], *eb = j->e[1];
		int c = !ea ? 1 : !eb ? -1 : strcmp(ea->path, eb->path);
		if (c == 0) {
			uint32_t f = lks_diff_entry(ea, eb);
			if (eb->seq < j->n_pos) {
				j->pos[eb->seq] = ea->seq + 1;
			}
			rc = f ? keep(ld, o, eb->path, f, ea, eb) : 0;
		} else {
			rc = c < 0 ? keep(ld, o, ea->path, LKS_F_REMOVED, ea, NULL)
			           : keep(ld, o, eb->path, LKS_F_ADDED, NULL, eb);
		}
		if (rc == 0 && c <= 0) {
			rc = join_next(j, 0, &ld->n_entries_a);
		}
		if (rc == 0 && c >= 0) {
			rc = join_next(j, 1, &ld->n_entries_b);
		}
	}
	return rc;
}

int lks_diff_layer_pair(const struct lks_layer_index *a, const struct lks_layer_index *b,
                        const struct lks_diff_opts *o, struct lks_layer_diff *ld)
{
	struct join j = {.n_pos = b->n_seen};
	ld->n_entries_a = ld->n_entries_b = 0;
	j.pos = calloc(j.n_pos + 1, sizeof(*j.pos));
	int rc = j.pos ? lks_layer_cursor_open(a, &j.c[0]) : -ENOMEM;
	rc = rc ? rc : lks_layer_cursor_open(b, &j.c[1]);
	rc = rc ? rc : join_run(&j, o, ld);
	ld->order_differs = rc == 0 && order_differs(j.pos, j.n_pos);
	lks_layer_cursor_close(j.c[0]);
	lks_layer_cursor_close(j.c[1]);
	free(j.pos);
	return rc;
}
