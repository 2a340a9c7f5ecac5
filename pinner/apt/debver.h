/* Debian version strings: parsing and comparison with dpkg's exact semantics.
 *
 * A version is [epoch:]upstream[-revision]. Epochs compare numerically; upstream and revision
 * compare by alternating non-digit runs (letters sort before non-letters, '~' before
 * everything, even the end of the string) and digit runs (numerically).
 */
#pragma once
#include <stdbool.h>

/* Compare two version strings as dpkg does: <0, 0, >0. Never fails: malformed input is
 * compared leniently (like apt), so the order stays total; check lks_debver_valid() first
 * when the input is untrusted and must be well-formed. */
int lks_debver_cmp(const char *a, const char *b);

/* True when `v` is a well-formed version per dpkg's parser: optional numeric epoch that fits
 * an int, non-empty upstream starting with a digit, allowed characters only, non-empty
 * revision after the last '-', no whitespace. */
bool lks_debver_valid(const char *v);
