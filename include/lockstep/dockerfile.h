/* Dockerfile parsing (after BuildKit's frontend/dockerfile/parser), image references and
 * lossless rewriting.
 *
 * The parser never copies the file into a new layout: every instruction, flag, argument, word
 * and heredoc body carries the byte range it came from in the caller's buffer, so a rewrite is
 * a list of byte edits applied to the original (see lks_edits_apply). Bytes outside edits
 * never change.
 *
 * BuildKit compatibility (what the parser accepts and rejects):
 *  - parser directives (syntax, escape, check) only at the top, case-insensitive, each once;
 *    the first line that is not a known directive ends the directive block; escape is \ or `
 *  - a UTF-8 BOM on the first line is skipped; CRLF line ends are accepted; the last line may
 *    lack a newline
 *  - comment lines and blank lines inside a continuation are dropped from the logical line
 *  - a continuation at end of file is accepted (BuildKit ends the instruction there)
 *  - heredocs (<<EOF, <<-EOF, <<"EOF", several per line) for RUN, COPY, ADD (also under
 *    ONBUILD) when not in JSON form; an unterminated heredoc is an error
 *  - an unknown instruction is an error ("unknown instruction"), as in BuildKit's build step;
 *    so is an instruction other than ARG before the first FROM, and a file with none
 *  - not BuildKit: NUL bytes are rejected (binary input); a physical line longer than
 *    LKS_DF_MAX_LINE, a logical instruction longer than LKS_DF_MAX_LINE, a file longer
 *    than LKS_DF_MAX_FILE, more than LKS_DF_MAX_INSTRS instructions or LKS_DF_MAX_WORDS
 *    words give -LKS_E_TOOBIG (memory stays bounded on hostile input)
 * Errors are -LKS_E_PARSE / -LKS_E_TOOBIG / -ENOMEM with "NAME:LINE: what is wrong" in ctx.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lks_ctx;
struct lks_buf;
struct lks_platforms;

#define LKS_DF_MAX_LINE ((size_t)1 << 20)
#define LKS_DF_MAX_FILE ((size_t)16 << 20)
#define LKS_DF_MAX_INSTRS ((size_t)1 << 16) /* instructions per file */
#define LKS_DF_MAX_WORDS ((size_t)1 << 18)  /* flags + arguments + RUN words per file */
#define LKS_DF_MAX_NESTING 16                /* ${...} inside ${...} in a substitution */
#define LKS_DF_MAX_PATTERN_VALUE 1024 /* value of ${V#p} ${V%p} ${V/p/r} */
#define LKS_DF_MAX_PATTERN_TOKENS 128 /* characters and wildcards of their pattern */

/* A piece of the logical text and where it came from. `off`/`len` cover the bytes in the
 * original buffer from its first to its last character; when the piece spans a line
 * continuation that range also holds the escape, newline and any dropped comment lines, and
 * `contiguous` is false. */
struct lks_df_word {
	char *text;      /* logical text as written (quotes kept, continuations removed) */
	char *value;     /* text with quotes and escapes removed, variables not expanded;
	                    for JSON form the decoded string */
	size_t off, len; /* range in the original buffer */
	size_t *pos;     /* pos[i]: offset in the original buffer of text[i] */
	bool contiguous;
	bool op; /* shell operator (&& || ; | & ( )) in a RUN shell-form word list */
};

struct lks_df_flag {
	char *text;      /* the flag as written in the logical line, e.g. "--mount=type=cache" */
	size_t *pos;     /* pos[i]: offset in the original buffer of text[i] */
	char *name;      /* "platform", "from", "mount" ... (without dashes) */
	char *value;     /* unquoted value after '=', NULL when the flag has no '=' */
	size_t off, len; /* the whole "--name=value" as written */
	bool contiguous;
	size_t value_off, value_len; /* the value as written (after '='); len 0 when none */
};

struct lks_df_heredoc {
	char *name;      /* delimiter, quotes removed */
	bool chomp;      /* <<- : leading tabs are stripped from body lines and the delimiter */
	bool expand;     /* false when the delimiter was quoted */
	int fd;          /* the optional leading digit(s): 3<<EOF, -1 when none */
	size_t off, len; /* the body in the original buffer: whole lines with their newlines,
	                    without the delimiter line */
	size_t start_line, end_line; /* lines of the body (end_line is the delimiter line) */
};

struct lks_df_instr {
	char *keyword;               /* uppercased: "FROM", "RUN" ... */
	size_t start_line, end_line; /* 1-based, end includes continuations and heredocs */
	size_t off, len; /* the whole instruction as written, without the final newline */
	char *logical;   /* the logical line BuildKit sees (keyword + rest) */
	struct lks_df_flag *flags;
	size_t nflags;
	bool json;                /* exec (JSON array) form */
	struct lks_df_word *args; /* arguments after the flags: JSON strings or shell-split
	                             words (split on blanks, quotes kept together) */
	size_t nargs;
	size_t rest_off, rest_len; /* everything after the flags, as written */
	struct lks_df_heredoc *heredocs;
	size_t nheredocs;
	struct lks_df_instr *sub; /* ONBUILD: the trigger instruction, else NULL */
	/* RUN shell form: the command split into shell words and operators with original
	 * ranges, for finding `apt-get install` / `pip install`; NULL/0 otherwise. */
	struct lks_df_word *words;
	size_t nwords;
	/* The stage's SHELL (its own, else that of the stage it is built FROM) is not a POSIX
	 * shell (powershell, pwsh, cmd): a shell-form RUN or heredoc is not sh and is not
	 * scanned. Default /bin/sh -c, bash, dash, ash, zsh, ksh, busybox: false. */
	bool foreign_shell;
};

struct lks_dockerfile {
	char *name;       /* for messages */
	const char *data; /* the caller's buffer (not owned; must outlive this struct) */
	size_t len;
	char escape;  /* '\\' or '`' */
	char *syntax; /* # syntax= value or NULL */
	char *check;  /* # check= value or NULL */
	size_t bom;   /* 3 when the file starts with a UTF-8 BOM, else 0 */
	struct lks_df_instr *instrs;
	size_t ninstrs;
};

/* Parse data[0..len) (not NUL-terminated necessarily). `name` is used in messages
 * ("Dockerfile:3: unknown instruction 'FOO'"). On success *out owns everything except `data`,
 * which must outlive it. Returns 0 or a negative LKS error. */
int lks_dockerfile_parse(struct lks_ctx *ctx, const char *name, const char *data, size_t len,
                         struct lks_dockerfile **out);
void lks_dockerfile_free(struct lks_dockerfile *df);

/* ---- image references ---- */

enum lks_df_image_kind {
	LKS_DF_IMG_FROM,       /* FROM <image> */
	LKS_DF_IMG_COPY_FROM,  /* COPY/ADD --from=<image> */
	LKS_DF_IMG_MOUNT_FROM, /* RUN --mount=...,from=<image> */
};

/* Why a reference could not be expanded (lks_df_image.blocked_why). */
enum lks_df_block {
	LKS_DF_BLOCK_NO_DEFAULT, /* blocked_by: an ARG declared without a default */
	LKS_DF_BLOCK_SYNTAX,     /* a malformed substitution, or one BuildKit does not support
	                          * (an unclosed ${, ${V:#p}) */
	LKS_DF_BLOCK_TOO_LONG,   /* an expansion passes LKS_DF_MAX_LINE bytes, lockstep's cap */
	LKS_DF_BLOCK_TOO_DEEP,   /* ${...} nested deeper than LKS_DF_MAX_NESTING, lockstep's cap */
	LKS_DF_BLOCK_PATTERN,    /* ${V#p} ${V%p} ${V/p/r} past LKS_DF_MAX_PATTERN_VALUE or
	                          * LKS_DF_MAX_PATTERN_TOKENS, lockstep's caps */
};

struct lks_df_image {
	enum lks_df_image_kind kind;
	size_t line;      /* line where the reference text starts */
	size_t instr;     /* index in df->instrs */
	char *written;    /* the reference as written (logical text, quotes kept) */
	size_t off, len;  /* its range in the original buffer */
	bool contiguous;  /* false when it spans a line continuation */
	char *expanded;   /* after ARG expansion and quote removal: the same image on every
	                     platform it is evaluated on; NULL when blocked or per_platform */
	char *blocked_by; /* the ARG without a value that blocked expansion, else NULL */
	enum lks_df_block blocked_why; /* why, when blocked_by is set. Not LKS_DF_BLOCK_NO_DEFAULT:
	                                  blocked_by is the reference text, or the global ARG whose
	                                  default cannot be expanded */
	char *per_platform; /* different images on different platforms: "linux/amd64: a:amd64,
	                       linux/arm64: a:arm64"; else NULL */
	uint64_t platforms; /* bit i: an image (or blocked) on platform i of the list evaluated */
	char **args_used;   /* names of the ARGs referenced, not the platform ARGs (NULL-terminated,
	                       may be empty) */
	size_t nargs_used;
	int stage;        /* index of the stage it appears in (FROM: the stage it starts) */
	char *stage_name; /* that stage's AS name (lowercased) or NULL */
	char *platform;   /* FROM --platform value as written, or NULL */
	bool has_digest;  /* the expanded (or, if blocked, written) text has @sha256: */
	bool onbuild;     /* inside an ONBUILD trigger */
	bool valid;       /* expanded text uses only reference characters [A-Za-z0-9._:/@-]
	                     with at most one '@' (true when blocked: unknown) */
};

/* All image references in file order, evaluated as BuildKit would for each target platform
 * of `platforms` (NULL: LKS_PLATFORMS_DEFAULT, see platform.h).
 *
 * Expansion uses the global ARGs (before the first FROM) and their defaults, plus BuildKit's
 * platform ARGs, which need no declaration: TARGETPLATFORM TARGETOS TARGETARCH TARGETVARIANT
 * of the target platform and BUILDPLATFORM BUILDOS BUILDARCH BUILDVARIANT of the same one (a
 * native build, as BuildKit when only a target is given). Forms: $V ${V} ${V:-w} ${V-w}
 * ${V:+w} ${V+w} ${V:?w} ${V?w} ${V#p} ${V##p} ${V%p} ${V%%p} ${V/p/r} ${V//p/r}. An ARG
 * declared without a default blocks a plain $V, ${V#p}, ${V/p/r}, ${V?w} (expanded = NULL,
 * blocked_by = "V"); ${V:-d} then gives d and ${V:+x} nothing; an undeclared name expands to
 * "" (as BuildKit). --from values see only the global ARGs. A malformed substitution, and an
 * expansion past lockstep's caps (LKS_DF_MAX_LINE bytes, LKS_DF_MAX_NESTING levels, the pattern
 * caps), also
 * block: blocked_why says which.
 *
 * A scratch, a stage index and a name of an earlier stage (case-insensitive) are not images.
 * A stage is a platform variant when a reference whose value depends on the platform names it
 * on some platform (of a fixed list of common ones, and `platforms`); on a platform, every
 * other stage is evaluated (any stage may be a build target), a variant only when an evaluated
 * stage names it there. A reference is listed when it is an image (or blocked) on at least one
 * platform where its stage is evaluated; one naming a stage on all of them is not listed.
 * *out (array of *n, possibly NULL when *n is 0) is freed with lks_df_images_free. */
int lks_dockerfile_images_on(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                             const struct lks_platforms *platforms, struct lks_df_image **out,
                             size_t *n);
/* lks_dockerfile_images_on with the default platforms. */
int lks_dockerfile_images(struct lks_ctx *ctx, const struct lks_dockerfile *df,
                          struct lks_df_image **out, size_t *n);
void lks_df_images_free(struct lks_df_image *imgs, size_t n);

/* ---- lossless rewrite ---- */

struct lks_edit {
	size_t off, len;  /* replace data[off..off+len) */
	const char *text; /* with this NUL-terminated text (not owned) */
};

/* out (initialised by the caller) receives data with the edits applied. Edits may be in any
 * order; two edits overlapping or starting at the same offset, or reaching past len, give
 * -LKS_E_INVAL. With n == 0 the output is byte-identical to the input. */
int lks_edits_apply(struct lks_ctx *ctx, const char *data, size_t len, const struct lks_edit *e,
                    size_t n, struct lks_buf *out);

/* The edit that pins img to digest ("sha256:<64 hex>"): appends "@<digest>" to the reference
 * as written (before a closing quote), or replaces the digest already written. *text receives
 * the replacement text, owned by the caller and referenced by out->text. Returns
 * -LKS_E_INVAL for a malformed digest and -LKS_E_UNSUPPORTED when the existing digest comes
 * from an ARG value rather than the reference text, the reference is not valid, or it names
 * different images (or a stage) on different platforms. */
int lks_df_pin_edit(struct lks_ctx *ctx, const char *data, const struct lks_df_image *img,
                    const char *digest, struct lks_edit *out, char **text);
