/* Finding `apt-get install` / `apt install` package words in a RUN shell command.
 *
 * The command text is tokenised like a POSIX shell (quotes, backslash-newline continuations,
 * comments, &&/||/;/|/& lists, subshells and braces, redirections, here-documents), and each
 * simple command whose program is apt-get or apt, or tonistiigi/xx's xx-apt-get / xx-apt
 * (after NAME=value prefixes, sudo, env, xargs) with the subcommand install or reinstall
 * (options may come before it: apt-get -y install) is analysed: options and their values are
 * skipped (-t/--target-release, -o/--option, -c/--config-file, -a/--host-architecture, clusters
 * like -qqy), and every package word is returned with its byte range and kind. Nothing inside
 * quoted strings is looked into (sh -c '...' is left alone). Nothing is modified. Files written by
 * `echo` with literal text (an apt source added by the Dockerfile) are reported too
 * (lks_apt_write).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

enum lks_apt_word_kind {
	LKS_APT_WORD_PLAIN,        /* name or name:arch */
	LKS_APT_WORD_PINNED,       /* name=version (verify against the index, do not change) */
	LKS_APT_WORD_RELEASE,      /* name/suite */
	LKS_APT_WORD_LOCAL,        /* ./file.deb or /path/file.deb */
	LKS_APT_WORD_VARIABLE,     /* contains $VAR, ${...}, $(...) or `...`: cannot be resolved */
	LKS_APT_WORD_PATTERN,      /* glob, regex or apt pattern (~n, ?name): cannot be pinned */
	LKS_APT_WORD_VERSION_GLOB, /* name=1.1.0* (or another fnmatch glob after '='): the
	                            * newest matching version, as apt picks it; pinned exactly */
	LKS_APT_WORD_CROSS, /* a package word of xx-apt-get (tonistiigi/xx): installed for the
	                     * target architecture as NAME-TRIPLE or NAME:ARCH, so a version in
	                     * the word would break the install: not pinned */
};

struct lks_apt_word {
	size_t start, end; /* byte range [start, end) of the raw word, quotes included; for
	                    * lks_apt_cmd_scan_argv: start is the argv index, end = start + 1 */
	char *text;        /* the word after quote removal */
	enum lks_apt_word_kind kind;
};

struct lks_apt_install {
	size_t start, end;    /* byte range of the whole simple command */
	char *target_release; /* value of -t/--target-release/--default-release, or NULL */
	char *tool;           /* "apt-get", "apt", "xx-apt-get" or "xx-apt" */
	bool from_input;      /* run by xargs: more words come from its input */
	struct lks_apt_word *words;
	size_t n;
};

/* A file a simple command writes with literal text: `echo TEXT > PATH` (`>>`: append) or
 * `echo TEXT | tee [-a] PATH...` (echo -n honoured; words with expansions or backslashes, or
 * a PATH with an expansion, are not literal and give no write). Every path is reported; the
 * caller picks the ones it cares about (apt sources, keyrings). */
struct lks_apt_write {
	size_t start, end; /* byte range of the command that writes */
	char *path;
	char *text;
	bool append;
};

struct lks_apt_cmds {
	struct lks_apt_install *v;
	size_t n;
	struct lks_apt_write *writes; /* in command order */
	size_t n_writes;
};

void lks_apt_cmds_init(struct lks_apt_cmds *c);
void lks_apt_cmds_free(struct lks_apt_cmds *c);
/* Scan a shell command (RUN shell form or heredoc body). Appends to *out. -LKS_E_PARSE for an
 * unterminated quote or substitution, -LKS_E_TOOBIG past the caps (1 MiB, 65536 words). */
int lks_apt_cmd_scan(struct lks_ctx *ctx, const char *cmd, size_t len, struct lks_apt_cmds *out);
/* Scan an exec-form argv (RUN ["apt-get", "install", ...]). Appends to *out. */
int lks_apt_cmd_scan_argv(struct lks_ctx *ctx, const char *const *argv, size_t argc,
                          struct lks_apt_cmds *out);
/* Name of a kind, for messages ("plain", "pinned", ...). */
const char *lks_apt_word_kind_name(enum lks_apt_word_kind k);
