/* Target platforms ("linux/amd64", "linux/arm/v7"), as BuildKit and containerd spell them
 * (common/platform.c).
 *
 * A platform is OS "/" architecture [ "/" variant ], lowercase. Parsing normalises the way
 * containerd's platforms.Normalize does: x86_64/x86-64 -> amd64, aarch64 -> arm64 (variant v8
 * dropped: arm64 has none), armhf -> arm/v7, armel -> arm/v6, arm without variant -> arm/v7,
 * i386/i486/i586/i686 -> 386, "macos" -> darwin. A variant is only kept for arm and arm64
 * (v8 dropped), and for amd64 (v2..v4, as buildx writes them).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>

struct lks_ctx;

#define LKS_PLATFORM_PART 32 /* os, architecture and variant: at most 31 characters each */
#define LKS_PLATFORM_TEXT (3 * LKS_PLATFORM_PART)
#define LKS_PLATFORMS_MAX 64 /* platforms in one list */

/* The platforms considered when neither --platform nor the lock says: the two that almost
 * every multi-platform image publishes. */
#define LKS_PLATFORMS_DEFAULT "linux/amd64,linux/arm64"

struct lks_platform {
	char os[LKS_PLATFORM_PART];
	char arch[LKS_PLATFORM_PART];
	char variant[LKS_PLATFORM_PART]; /* "" when none */
};

struct lks_platforms {
	struct lks_platform v[LKS_PLATFORMS_MAX];
	size_t n;
};

/* Parse and normalise one platform. -LKS_E_INVAL (detail in ctx, naming s) on anything else
 * than 2 or 3 non-empty parts of [a-z0-9_.-] (case-insensitive). ctx may be NULL. */
int lks_platform_parse(struct lks_ctx *ctx, const char *s, struct lks_platform *p);
/* "os/arch[/variant]" into buf (at least LKS_PLATFORM_TEXT bytes), which is returned. */
const char *lks_platform_format(const struct lks_platform *p, char *buf);
bool lks_platform_equal(const struct lks_platform *a, const struct lks_platform *b);

/* Append the platforms of a comma-separated list (blanks around items ignored), skipping
 * ones already present. -LKS_E_INVAL for a bad item or an empty list, -LKS_E_TOOBIG past
 * LKS_PLATFORMS_MAX. */
int lks_platforms_add(struct lks_ctx *ctx, struct lks_platforms *l, const char *csv);
/* Index of p in l, or -1. */
int lks_platforms_find(const struct lks_platforms *l, const struct lks_platform *p);
/* "linux/amd64, linux/arm64" into buf (size len), which is returned. */
const char *lks_platforms_format(const struct lks_platforms *l, char *buf, size_t len);
