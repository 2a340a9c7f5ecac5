/* apt files a Dockerfile adds to its image before an apt command runs (internal to the apt
 * pinner): sources and keyrings written by literal RUN lines (`echo "deb ..." >
 * /etc/apt/sources.list.d/x.list`, `echo ... | tee FILE`), heredoc files (`COPY <<EOF
 * /etc/apt/sources.list.d/x.sources`) and files copied from the build context (`COPY x.list
 * /etc/apt/sources.list.d/`, `COPY x.gpg /usr/share/keyrings/`). The build context is the
 * Dockerfile's directory. Only what is literal is picked up: `COPY --from`, globs, URLs,
 * relative destinations and text with expansions are not followed. Paths kept: under
 * /etc/apt/, and keyrings (*.gpg, *.asc) anywhere.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;
struct lks_apt_file;
struct apt_pinner_file;

struct aptfile {
	size_t instr; /* the instruction that writes it */
	size_t stage;
	char *path; /* absolute, normalised */
	char *data;
	size_t len;
	bool append;
};

struct apt_files {
	struct aptfile *v; /* in file order */
	size_t n;
};

/* Every apt file the instructions of f write. out is initialised by this call. */
int apt_files_collect(struct lks_ctx *ctx, const struct apt_pinner_file *f, struct apt_files *out);
void apt_files_free(struct apt_files *a);
/* The files in effect when instruction `instr` of `stage` runs: those of the stages it is
 * built FROM (parent[s]: the stage s is FROM, or SIZE_MAX for an image), whole, then its own
 * earlier ones. *out (caller frees the array only) borrows from a. */
int apt_files_for(const struct apt_files *a, const size_t *parent, size_t stage, size_t instr,
                  struct lks_apt_file **out, size_t *n);
