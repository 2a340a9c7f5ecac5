#include <ctype.h>
#include <stdbool.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include "common/http_parse.h"
#include "lockstep/cleanup.h"
#include "lockstep/error.h"

static bool is_tchar(unsigned char c)
{
	return isalnum(c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

int http_header_parse(const char *line, size_t n, char **name, char **value)
{
	*name = NULL;
	*value = NULL;
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) {
		n--;
	}
	if (n == 0 || line[0] == ' ' || line[0] == '\t' || (n >= 5 && !memcmp(line, "HTTP/", 5))) {
		return 1;
	}
	const char *colon = memchr(line, ':', n);
	if (!colon || colon == line) {
		return -LKS_E_PARSE;
	}
	size_t nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++) {
		if (!is_tchar((unsigned char)line[i])) {
			return -LKS_E_PARSE;
		}
	}
	const char *v = colon + 1;
	const char *end = line + n;
	while (v < end && (*v == ' ' || *v == '\t')) {
		v++;
	}
	while (end > v && (end[-1] == ' ' || end[-1] == '\t')) {
		end--;
	}
	if (memchr(v, '\0', (size_t)(end - v))) {
		return -LKS_E_PARSE;
	}
	_cleanup_free_ char *nm = strndup(line, nlen);
	_cleanup_free_ char *val = strndup(v, (size_t)(end - v));
	if (!nm || !val) {
		return -ENOMEM;
	}
	for (char *p = nm; *p; p++) {
		*p = (char)tolower((unsigned char)*p);
	}
	*name = TAKE_PTR(nm);
	*value = TAKE_PTR(val);
	return 0;
}

static int month_index(const char *m)
{
	static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
					     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	for (int i = 0; i < 12; i++) {
		if (strcasecmp(m, months[i]) == 0) {
			return i;
		}
	}
	return -1;
}

/* The three date forms of RFC 9110 section 5.6.7, all in GMT. */
static int parse_http_date(const char *v, time_t *out)
{
	char wd[16], mon[4], tz[4];
	int d, y, h, mi, s, used = 0;
	struct tm tm = {0};
	if (sscanf(v, "%15[A-Za-z], %2d %3s %4d %2d:%2d:%2d %3s%n", wd, &d, mon, &y, &h, &mi, &s,
		   tz, &used) == 8 && !v[used] && strcmp(tz, "GMT") == 0) {
		/* IMF-fixdate */
	} else if (sscanf(v, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d %3s%n", wd, &d, mon, &y, &h, &mi,
			  &s, tz, &used) == 8 && !v[used] && strcmp(tz, "GMT") == 0) {
		y += y < 70 ? 2000 : 1900; /* RFC 850 two-digit year */
	} else if (sscanf(v, "%15[A-Za-z] %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &h, &mi, &s, &y,
			  &used) == 7 && !v[used]) {
		/* asctime */
	} else {
		return -LKS_E_PARSE;
	}
	int m = month_index(mon);
	if (m < 0 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || s < 0 || s > 60 ||
	    y < 1970 || y > 9999) {
		return -LKS_E_PARSE;
	}
	tm.tm_year = y - 1900;
	tm.tm_mon = m;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = s;
	*out = timegm(&tm);
	return 0;
}

long http_retry_after(const char *v, time_t now)
{
	while (*v == ' ' || *v == '\t') {
		v++;
	}
	size_t n = strlen(v);
	if (n > 0 && strspn(v, "0123456789") == n) {
		if (n > 9) {
			return LONG_MAX / 2;
		}
		return strtol(v, NULL, 10);
	}
	time_t t;
	if (parse_http_date(v, &t) < 0) {
		return -1;
	}
	if (t <= now) {
		return 0;
	}
	double diff = difftime(t, now);
	return diff > (double)(LONG_MAX / 2) ? LONG_MAX / 2 : (long)diff;
}

void http_redact_url(const char *url, char *out, size_t n)
{
	if (n == 0) {
		return;
	}
	const char *auth = strstr(url, "://");
	auth = auth ? auth + 3 : url;
	size_t alen = strcspn(auth, "/?#");
	const char *at = NULL;
	for (const char *p = auth; p < auth + alen; p++) {
		if (*p == '@') {
			at = p;
		}
	}
	size_t plen = strcspn(auth + alen, "?#");
	bool query = auth[alen + plen] == '?';
	const char *host = at ? at + 1 : auth;
	snprintf(out, n, "%.*s%.*s%s", (int)(auth - url), url,
		 (int)(auth + alen + plen - host), host, query ? "?..." : "");
}
