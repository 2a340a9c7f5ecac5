/* Escaping strings that come from images, registries, indexes and Dockerfiles for the format
 * they are written into. Such a string may hold any byte: the functions below never let it
 * change the structure of the document (end a table cell, open a link or a tag, break the
 * UTF-8 or XML well-formedness) and never drop a byte silently: what cannot be shown as it is
 * is written as \xNN, and '\' itself as "\\" (the "printable form").
 *
 * Markdown: untrusted strings only ever go into code spans (lks_esc_md_code), where GitHub
 * renders no link, image, HTML, mention or emphasis. JSON: lks_json_bytes (json.h).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_buf;

/* Length of the well-formed UTF-8 sequence at p (1..4), 0 when p starts an ill-formed one
 * (stray continuation, overlong form, surrogate, beyond U+10FFFF, cut short). */
size_t lks_utf8_len(const unsigned char *p);

/* The printable form: valid UTF-8 kept, control bytes, DEL and ill-formed bytes as \xNN,
 * '\' as "\\". */
int lks_esc_printable(struct lks_buf *o, const char *s);

/* A line for a terminal or a log: as the printable form, but '\' kept (messages quote shell
 * text); no escape sequence, newline or ill-formed byte gets through. */
int lks_esc_terminal(struct lks_buf *o, const char *s);

#define LKS_ESC_LINES 1u /* keep tab, newline and carriage return (logs, <pre>) */

/* HTML text or a quoted attribute value, also XML 1.0 (JUnit): & < > " ' as entities; control
 * bytes (but those LKS_ESC_LINES keeps), DEL, U+FFFE/U+FFFF and ill-formed bytes as \xNN.
 * Without LKS_ESC_LINES, the printable form ('\' as "\\"). */
int lks_esc_html(struct lks_buf *o, const char *s, unsigned flags);

/* A whole Markdown code span holding the printable form of s: the fence is one backtick longer
 * than the longest run in s, padded with spaces where CommonMark would strip or join them; in a
 * GFM table cell (in_table) '|' is written "\|", which GFM turns back into '|'. */
int lks_esc_md_code(struct lks_buf *o, const char *s, bool in_table);

/* A fenced Markdown code block around text (lines kept): the fence is longer than any run of
 * backticks in text. Control bytes but tab and newline, and ill-formed bytes, as \xNN. */
int lks_esc_md_block(struct lks_buf *o, const char *text);
