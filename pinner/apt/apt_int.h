/* Helpers shared by the files of pinner/apt/ (not public API). */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Split on whitespace (and commas when `commas`) into a NULL-terminated vector; NULL on OOM. */
char **apt_strv_split(const char *s, bool commas);
void apt_strv_free(char **v);
/* fnmatch-style glob, or a /regex/ as apt allows in pins; true on a match. */
bool apt_pattern_match(const char *pattern, const char *s);
/* Whether a version string matches a version as apt's pkgVersionMatch does for `pkg=VERSION`
 * and `Pin: version`: one trailing '*' makes it a prefix, the comparison ignores case, and
 * the rest may be an fnmatch glob or a /regex/ (both case-insensitive). */
bool apt_version_match(const char *pattern, const char *version);
/* A version string of a `pkg=VERSION` word that is a glob for apt_version_match rather than
 * one version (a /regex/ is for pins only: apt-get reads pkg=/x/ as a release). */
bool apt_version_is_pattern(const char *pattern);

struct lks_apt_index;
struct lks_apt_pkg;
struct apt_snap;
/* The hash of a package name in the index's buckets (and the snapshot's). */
uint32_t apt_name_hash(const char *s);
/* Lookups in an index mapped from a snapshot (apt_snapshot.c); see lks_apt_index_find. */
const struct lks_apt_pkg *apt_snap_find(const struct lks_apt_index *idx, const char *name);
const struct lks_apt_pkg *apt_snap_next(const struct lks_apt_index *idx,
                                        const struct lks_apt_pkg *p);
const struct lks_apt_pkg *apt_snap_at(const struct lks_apt_index *idx, size_t i);
void apt_snap_close(struct apt_snap *s);
/* Recompute every checksum of a snapshot in memory whose layout is sane (tests and the fuzzer:
 * damage that passes the checksums must still be caught by the bounds checks). */
void apt_snap_reseal(void *file, size_t len);
/* File names apt reads in sources.list.d (*.list, *.sources) and preferences.d (no
 * extension, or .pref). */
bool apt_conf_is_sources_file(const char *name);
bool apt_conf_is_prefs_file(const char *name);
struct lks_apt_source;
/* Free the strings of one source (not the struct). */
void apt_source_free(struct lks_apt_source *src);

struct lks_ctx;
/* Names of the files in an apt lists directory that end in "Release" (InRelease and
 * _Release), sorted; at most 1024. The caller frees each name and the vector. */
int apt_lists_releases(struct lks_ctx *ctx, const char *dir, char ***names, size_t *n);
