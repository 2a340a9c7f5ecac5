/* Dockerfile parsing (after BuildKit's frontend/dockerfile/parser): common/dockerfile.c, used
 * by the pinner (pinner/dockerfile/ builds its model on it: image references, lossless
 * rewriting) and by the verifier (explaining which line made a layer).
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

struct lks_ctx;
struct lks_buf;

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
