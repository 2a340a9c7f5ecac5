/* Internal: a bounded TOML reader for configuration files (containers-registries.conf(5)).
 *
 * All of TOML 1.0's syntax is read, so any valid file loads: tables and arrays of tables,
 * dotted and quoted keys, the four string forms (escapes decoded), integers (decimal, hex,
 * octal, binary), floats, booleans, dates and times (kept as text), arrays and inline tables.
 * The document becomes a tree; every node keeps the line it starts on, for messages.
 * TOML's rules are enforced: a key defined twice, a table header given twice, a value then
 * used as a table, invalid UTF-8 or control characters.
 *
 * Caps (hostile input): TOML_MAX_BYTES of input, TOML_MAX_DEPTH levels of nested arrays and
 * inline tables (and parts of a dotted key), TOML_MAX_NODES nodes, TOML_MAX_MEMBERS members in
 * one table or array. A failure is -LKS_E_PARSE (-LKS_E_TOOBIG past a cap, -ENOMEM) with
 * "NAME:LINE: what is wrong" in ctx.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

#define TOML_MAX_BYTES ((size_t)1 << 20)
#define TOML_MAX_DEPTH 32
#define TOML_MAX_NODES 65536
#define TOML_MAX_MEMBERS 4096

enum toml_type {
	TOML_TABLE,
	TOML_ARRAY,
	TOML_STRING,
	TOML_INT,
	TOML_FLOAT,
	TOML_BOOL,
	TOML_DATETIME,
};

struct toml_node {
	enum toml_type type;
	unsigned line;
	unsigned flags;          /* how a table or array was made (toml.c) */
	char *key;               /* its key in the enclosing table; NULL in an array, the root */
	char *str;               /* TOML_STRING: the value; INT, FLOAT, DATETIME: the text */
	size_t len;              /* of str (a string may hold "\u0000") */
	long long i;             /* TOML_INT */
	bool b;                  /* TOML_BOOL */
	struct toml_node **kids; /* members of a table (in order), items of an array */
	size_t n, cap;
};

/* Parse data[0..len) (named `name` in messages) into *out, the root table. */
int toml_parse(struct lks_ctx *ctx, const char *name, const char *data, size_t len,
               struct toml_node **out);
/* Free a tree; NULL is fine. */
void toml_free(struct toml_node *n);
/* The member `key` of table t, or NULL (also when t is NULL or not a table). */
const struct toml_node *toml_get(const struct toml_node *t, const char *key);
/* A name for a node's type in messages: "a string", "an array", ... */
const char *toml_type_name(enum toml_type t);
