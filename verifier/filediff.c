/* Comparing two layer indexes entry by entry, on every field. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/explain.h"
#include "lockstep/imgdiff.h"
#include "lockstep/normalize.h"

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

int lks_diff_layer_pair(const struct lks_layer_index *a, const struct lks_layer_index *b,
                        const struct lks_diff_opts *o, struct lks_layer_diff *ld)
{
	int64_t last = -1;
	ld->n_entries_a = a->n;
	ld->n_entries_b = b->n;
	for (size_t i = 0; i < b->n; i++) {
		const struct lks_fentry *eb = &b->v[i];
		const struct lks_fentry *ea = lks_layer_find(a, eb->path);
		uint32_t f = ea ? lks_diff_entry(ea, eb) : LKS_F_ADDED;
		if (ea) {
			ld->order_differs |= (int64_t)ea->seq < last;
			last = ea->seq;
		}
		if (f && keep(ld, o, eb->path, f, ea, eb) < 0) {
			return -ENOMEM;
		}
	}
	for (size_t i = 0; i < a->n; i++) {
		const struct lks_fentry *ea = &a->v[i];
		if (!lks_layer_find(b, ea->path) &&
		    keep(ld, o, ea->path, LKS_F_REMOVED, ea, NULL) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}
