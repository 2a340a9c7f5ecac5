/* Internal helpers shared by the report renderers. */
#pragma once
#include "lockstep/buf.h"
#include <jansson.h>
#include "lockstep/imgdiff.h"

/* Human description of a layer's build step (Dockerfile text or created_by), "" when none. */
const char *report_step(const struct lks_layer_diff *ld, char *tmp, size_t cap);
/* "content, mode 0644 -> 0664, ..." for the counted fields of fd. */
int report_fields(const struct lks_file_diff *fd, uint32_t fields, const char *arrow,
                  struct lks_buf *out);
const char *report_status(enum lks_layer_status s);
/* report_status for people: says when identical layers were not read. */
const char *report_layer_status(const struct lks_layer_diff *ld);
#define REPORT_VALUE_MAX 120
/* A config/manifest value (compact JSON) for people: escaped, cut after REPORT_VALUE_MAX
 * bytes, "(absent)" for NULL. */
int report_json_value(const char *v, struct lks_buf *out);
int report_json(const struct lks_diff_result *r, struct lks_buf *out);
/* The JSON document of report_json (new reference, NULL on allocation failure). */
json_t *report_json_doc(const struct lks_diff_result *r);
int report_html(const struct lks_diff_result *r, struct lks_buf *out);
/* The <style> element of the HTML reports. */
extern const char report_html_style[];
int report_markdown(const struct lks_diff_result *r, struct lks_buf *out);
