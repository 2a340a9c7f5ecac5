/* Findings: what `check` (and `pin` for what it cannot pin) reports about a file.
 *
 * A finding is an error (fails `check` with exit 1) or a warning (printed, exit unaffected).
 * Messages follow the house style and are printed by the CLI as "file:line: message".
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

struct lks_buf;
struct lks_ctx;

enum lks_severity { LKS_SEV_WARNING, LKS_SEV_ERROR };

struct lks_finding {
	char *file;
	size_t line;
	enum lks_severity severity;
	char *code;    /* stable identifier for JSON output: "image-unpinned", ... */
	char *subject; /* what it is about: the reference, package ... */
	char *message;
};

struct lks_findings {
	struct lks_finding *v;
	size_t n, cap;
};

void lks_findings_init(struct lks_findings *f);
void lks_findings_free(struct lks_findings *f);
/* Append a finding; the message is formatted. Returns 0 or -ENOMEM. */
int lks_findings_add(struct lks_findings *f, const char *file, size_t line, enum lks_severity sev,
		     const char *code, const char *subject, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));
/* "file:line", or "file" when line is 0 (not tied to a line: a generated file, a transitive
 * dependency); into buf, which is returned. */
const char *lks_where(char *buf, size_t len, const char *file, size_t line);
/* Number of findings with severity error. */
size_t lks_findings_errors(const struct lks_findings *f);
/* Sort by (file, line, code, subject), keeping the first of exact duplicates. */
void lks_findings_sort(struct lks_findings *f);
/* Render as text ("file:line: message" per line, warnings prefixed "warning: ") or as JSON
 * ({"version":1,"findings":[...],"errors":N,"warnings":N}). */
int lks_findings_text(const struct lks_findings *f, struct lks_buf *out);
int lks_findings_json(struct lks_ctx *ctx, const struct lks_findings *f, struct lks_buf *out);

/* What pin (or update) did to one pinned input. */
struct lks_pin_change {
	const char *kind; /* "image", "apt", "python" (static) */
	char *file;
	size_t line;      /* 0 when not tied to a line (transitive Python dependency) */
	char *written;    /* as written before: "python:3.12-slim", "curl", "flask>=2" */
	char *subject;    /* normalised: "docker.io/library/python:3.12-slim", "curl", "flask" */
	char *pinned;     /* the pin: "sha256:...", "7.88.1-10+deb12u12", "3.0.3" */
	char *previous;   /* the pin before, or NULL */
	bool changed;     /* a file was edited for this input */
	bool tag_moved;   /* images: already pinned, and the tag now points elsewhere */
	/* Optional, for the update summary (set through the entry lks_pin_report_add returns): */
	time_t published_at; /* when `pinned` was published, if has_published_at */
	bool has_published_at;
	time_t previous_published_at; /* when `previous` was published */
	bool has_previous_published_at;
	char *link; /* where to read about the new version (owned), or NULL */
};

struct lks_pin_report {
	struct lks_pin_change *v;
	size_t n;
	size_t files_written;
	size_t resolved_cached; /* answered from the cache */
	size_t resolved_network;
	size_t dockerfiles;        /* Dockerfiles the run read */
	size_t dockerfiles_parsed; /* their parses (once each, unless a kind restructured one) */
	size_t image_streams;      /* reads of a base image's layers (once each per platform) */
};

void lks_pin_report_init(struct lks_pin_report *r);
void lks_pin_report_free(struct lks_pin_report *r);
/* Append a change (strings copied; previous may be NULL). Returns 0 or -ENOMEM; on success
 * *out (when not NULL) points at the new entry, valid until the next append. */
int lks_pin_report_add(struct lks_pin_report *r, const char *kind, const char *file, size_t line,
		       const char *written, const char *subject, const char *pinned,
		       const char *previous, bool changed, struct lks_pin_change **out);
