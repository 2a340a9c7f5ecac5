/* Line diff of two small texts (Myers' O(ND) algorithm, bounded in edits) for the HTML
 * report's side-by-side content view. */
#pragma once
#include <stddef.h>

#define LINEDIFF_MAX_EDITS 1000 /* beyond this the middle is shown as replaced wholesale */

struct linediff_line {
	const char *p; /* into the caller's text, not NUL-terminated */
	size_t len;
};

struct linediff_op {
	char kind; /* '=' same line, '-' only in A, '+' only in B */
	size_t a, b; /* line indexes (0-based): a for '=' and '-', b for '=' and '+' */
};

struct linediff {
	struct linediff_line *la, *lb;
	size_t na, nb;
	struct linediff_op *ops;
	size_t n_ops;
};

void linediff_init(struct linediff *d);
void linediff_free(struct linediff *d);
/* Split a (na bytes) and b into lines and fill d->ops with a shortest edit script (within
 * max_edits; more edits replace the differing middle as a whole). 0 or -ENOMEM. */
int linediff_run(struct linediff *d, const char *a, size_t na, const char *b, size_t nb,
                 size_t max_edits);
