/* Pure parsing helpers for the HTTP client (no libcurl here, so they can be fuzzed alone). */
#pragma once
#include <stddef.h>
#include <time.h>

/* Split one response header line "Name: value\r\n" into a lowercased name and a trimmed value
 * (both malloc'd). Returns 0 on success, 1 when the line is not a header (status line, blank
 * line, folded continuation), or a negative error (-LKS_E_PARSE, -ENOMEM). */
int http_header_parse(const char *line, size_t n, char **name, char **value);

/* Parse a Retry-After value: delta-seconds, or an HTTP-date (IMF-fixdate, RFC 850 or asctime)
 * compared with `now`. Returns the wait in seconds (>= 0, a past date gives 0), or -1 when the
 * value is malformed. Huge values are clamped to LONG_MAX / 2. */
long http_retry_after(const char *v, time_t now);

/* Copy url into out (size n, always NUL-terminated) with any userinfo and query removed, so it
 * can go into error messages without leaking credentials or signed tokens. */
void http_redact_url(const char *url, char *out, size_t n);
