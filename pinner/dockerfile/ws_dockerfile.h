/* The parsed Dockerfiles of a pin workspace (pinner/ws_dockerfile.c): each Dockerfile of a run
 * is read and parsed once, and every kind (images, apt, python) works on that one model.
 *
 * Kinds do not rewrite the text: they record byte edits against the text the model was
 * parsed from (ws_dockerfile_edit), and ws_dockerfiles_flush applies all of them at the end of
 * the run, so the image, apt and python edits of one file are applied together. What a later
 * kind needs from an earlier one is on the model: the image kind marks the references it
 * pinned (ws_dockerfile_pinned), so apt and python see the base image's digest without a
 * second parse.
 *
 * Two rare edits change the file's structure and make the model stale; the next
 * ws_dockerfile_get applies the edits and parses the new text: `--pip-inline-to-file` (it adds
 * COPY lines) and a digest replaced across a line continuation (the lines move).
 *
 * Ownership: the workspace owns every model (freed by lks_ws_free); pointers stay valid until
 * the model is parsed again (only after a structural edit) or the workspace is freed.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include "lockstep/buf.h"
#include "lockstep/platform.h"
#include "pinner/dockerfile/df_edit.h"

struct lks_ctx;
struct lks_dockerfile;
struct lks_df_image;
struct lks_edit;
struct lks_workspace;

struct ws_dockerfile {
	char *path;
	struct lks_buf text; /* what was parsed: df, imgs and every edit point into it */
	struct lks_dockerfile *df;
	struct lks_df_image *imgs; /* lks_dockerfile_images_on(df, plats), made on first use */
	size_t nimgs;
	struct lks_platforms plats; /* the target platforms imgs are evaluated for (n == 0:
	                               LKS_PLATFORMS_DEFAULT); kept across parses */
	bool have_imgs;
	char **values;          /* per image: the FROM value once pinned (else NULL) */
	struct lks_edit *edits; /* pending, in the order recorded; texts owned */
	size_t nedits, cap;
	bool stale; /* a structural edit: parse again before the next use */
};

struct ws_dockerfiles {
	struct ws_dockerfile **v;
	size_t n, cap;
	size_t parses; /* Dockerfile parses in this workspace (a run parses each file once) */
};

/* The model of the Dockerfile at path (read through the workspace, at most LKS_DF_MAX_FILE
 * bytes), parsed on first use. Returns 0 or a negative error (unreadable, does not parse). */
int ws_dockerfile_get(struct lks_ctx *ctx, struct lks_workspace *ws, const char *path,
                      struct ws_dockerfile **out);
/* The image references of d evaluated for d->plats (lks_dockerfile_images_on), made once;
 * d->imgs and d->nimgs. */
int ws_dockerfile_images(struct lks_ctx *ctx, struct ws_dockerfile *d);
/* The same for the platforms p (the image kind's: --platform, else the lock's record for the
 * file), which the model keeps for the rest of the run: kinds that run later (apt, python) see
 * the references the image kind pinned. References made for other platforms are made again
 * (before any kind recorded an edit: the image kind runs first). */
int ws_dockerfile_images_on(struct lks_ctx *ctx, struct ws_dockerfile *d,
                            const struct lks_platforms *p);
/* Record an edit replacing d->text[off, off+len) by (a copy of) text. Returns 0, 1 when the
 * same edit is already recorded (a file named twice: nothing is added), or -ENOMEM. An edit
 * that adds or removes a line break makes the model stale. */
int ws_dockerfile_edit(struct ws_dockerfile *d, size_t off, size_t len, const char *text);
/* The image kind recorded edit e (lks_df_pin_edit) for image k: the model now says what the
 * file will say (written, expanded, has_digest, the FROM value). A reference that spans a line
 * continuation makes the model stale instead (it is parsed again). */
int ws_dockerfile_pinned(struct ws_dockerfile *d, size_t k, const struct lks_edit *e);
/* The value of the FROM instruction d->df->instrs[instr] (its argument without quotes), as the
 * file will say it: with the digest the image kind pinned. */
const char *ws_dockerfile_from_value(const struct ws_dockerfile *d, size_t instr);
/* The file was restructured (lines added): parse it again on next use. */
void ws_dockerfile_restructure(struct ws_dockerfile *d);
/* Apply the edits recorded on every model to the workspace's texts (the end of a pin run;
 * may be called again: edits accumulate against the parsed text). */
int ws_dockerfiles_flush(struct lks_ctx *ctx, struct lks_workspace *ws);
void ws_dockerfiles_free(struct ws_dockerfiles *m);
