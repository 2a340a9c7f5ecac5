/* Counted string vectors (char **v, size_t n), as used for lists parsed from untrusted text. */
#pragma once
#include <stddef.h>

/* Append a copy of s[0..len) to *v. Returns 0, -ENOMEM, or -LKS_E_TOOBIG when *n has reached
 * max (0: no cap). On failure *v and *n are unchanged in content. */
int lks_strv_push(char ***v, size_t *n, size_t max, const char *s, size_t len);
/* Free every string and the vector; NULL is fine. */
void lks_strv_free(char **v, size_t n);
