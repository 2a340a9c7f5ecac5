/* dfdump FILE [--instrs|--pin]: print the .expect lines of a Dockerfile (fixture authoring aid),
 * or its instructions with their ranges. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "lockstep/buf.h"
#include "lockstep/ctx.h"
#include "lockstep/dockerfile.h"
#include "lockstep/error.h"
#include "dfexpect.h"
#include "pinner/dockerfile/df_edit.h"

static void dump_words(const char *what, const struct lks_df_word *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		printf("    %s [%zu+%zu%s%s] %s => %s\n", what, w[i].off, w[i].len,
		       w[i].contiguous ? "" : " split", w[i].op ? " op" : "", w[i].text,
		       w[i].value);
	}
}

static void dump_instr(const struct lks_df_instr *in, const char *indent)
{
	printf("%s%s lines %zu-%zu [%zu+%zu]%s: %s\n", indent, in->keyword, in->start_line,
	       in->end_line, in->off, in->len, in->json ? " json" : "",
	       in->logical ? in->logical : "");
	for (size_t i = 0; i < in->nflags; i++) {
		printf("    flag [%zu+%zu] %s = %s (value %zu+%zu)\n", in->flags[i].off,
		       in->flags[i].len, in->flags[i].name,
		       in->flags[i].value ? in->flags[i].value : "(none)", in->flags[i].value_off,
		       in->flags[i].value_len);
	}
	dump_words("arg", in->args, in->nargs);
	dump_words("word", in->words, in->nwords);
	for (size_t i = 0; i < in->nheredocs; i++) {
		const struct lks_df_heredoc *h = &in->heredocs[i];
		printf("    heredoc %s chomp=%d expand=%d fd=%d body [%zu+%zu] lines %zu-%zu\n",
		       h->name, h->chomp, h->expand, h->fd, h->off, h->len, h->start_line,
		       h->end_line);
	}
	if (in->sub) {
		dump_instr(in->sub, "  sub ");
	}
}

/* Pin every reference to one fake digest and print the rewritten file. */
static int pin(struct lks_ctx *ctx, const char *data, size_t len, const struct lks_df_image *imgs,
               size_t n, struct lks_buf *out)
{
	static const char dg[] =
	    "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
	struct lks_edit e[256];
	char *texts[256];
	size_t cnt = 0;
	int rc = 0;
	for (size_t i = 0; i < n && cnt < 256; i++) {
		rc = lks_df_pin_edit(ctx, data, &imgs[i], dg, &e[cnt], &texts[cnt]);
		if (rc == 0) {
			cnt++;
		} else {
			fprintf(stderr, "line %zu: %s\n", imgs[i].line, lks_errmsg(ctx, rc));
		}
	}
	rc = lks_edits_apply(ctx, data, len, e, cnt, out);
	for (size_t i = 0; i < cnt; i++) {
		free(texts[i]);
	}
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: dfdump FILE [--instrs]\n");
		return 2;
	}
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	struct lks_buf in, out;
	lks_buf_init(&in, 0);
	lks_buf_init(&out, 0);
	struct lks_dockerfile *df = NULL;
	struct lks_df_image *imgs = NULL;
	size_t n = 0;
	int rc = lks_buf_read_file(&in, argv[1]);
	if (rc == 0) {
		rc = lks_dockerfile_parse(&ctx, "Dockerfile", in.data ? in.data : "", in.len, &df);
	}
	if (rc == 0) {
		rc = lks_dockerfile_images(&ctx, df, &imgs, &n);
	}
	if (rc < 0) {
		printf("%s\n", lks_errmsg(&ctx, rc));
	} else if (argc > 2 && !strcmp(argv[2], "--instrs")) {
		for (size_t i = 0; i < df->ninstrs; i++) {
			dump_instr(&df->instrs[i], "");
		}
	} else if (argc > 2 && !strcmp(argv[2], "--pin")) {
		rc = pin(&ctx, in.data ? in.data : "", in.len, imgs, n, &out);
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	} else {
		dfexpect_format(&out, imgs, n);
		fwrite(out.data ? out.data : "", 1, out.len, stdout);
	}
	lks_df_images_free(imgs, n);
	lks_dockerfile_free(df);
	lks_buf_free(&in);
	lks_buf_free(&out);
	lks_ctx_free(&ctx);
	return rc < 0 ? 1 : 0;
}
