/* Text that remembers where each byte came from: for every byte of s, pos[] holds its offset
 * in an original buffer. The Dockerfile parser builds its logical lines with it (continuations
 * removed, every character still mapped to the file), and the apt kind the command texts of
 * RUN lines, so an edit found in the text lands on the right bytes of the file.
 */
#pragma once
#include <stddef.h>

struct lks_ptext {
	char *s;     /* NUL-terminated once anything was added */
	size_t *pos; /* pos[i]: offset of s[i] in the original */
	size_t len, cap;
};

void lks_ptext_free(struct lks_ptext *t);
/* Append c, which came from offset pos. Returns 0 or -ENOMEM. */
int lks_ptext_putc(struct lks_ptext *t, char c, size_t pos);
/* Append data[a..b), each byte from its own offset. Returns 0, -LKS_E_TOOBIG when the text
 * would pass max bytes (0: no cap), or -ENOMEM. */
int lks_ptext_append(struct lks_ptext *t, const char *data, size_t a, size_t b, size_t max);
