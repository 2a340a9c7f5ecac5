/* Streaming read of a real-world tar (every entry and all data) against GNU tar extracting to
 * stdout, for an uncompressed and a gzip tar of /usr/share/{doc,man} (cached under
 * $LKS_BUILDDIR/fixture-cache). CPU time, median of 3: the machine is shared.
 * Usage: bench_archive [TAR ...] (default: the cached fixtures). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include "lockstep/archive.h"
#include "lockstep/ctx.h"
#include "lockstep/error.h"

#define RUNS 3

static double self_cpu(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double children_cpu(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int read_all(const char *path, unsigned long long *entries, unsigned long long *bytes)
{
	struct lks_ctx ctx;
	lks_ctx_init(&ctx);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct lks_archive *a = NULL;
	int rc = fd < 0 ? -1 : lks_archive_open_fd(&ctx, &a, fd, LKS_ARCHIVE_TAR, NULL);
	struct lks_archive_entry *e;
	static char buf[1 << 16];
	*entries = *bytes = 0;
	while (rc == 0 && (rc = lks_archive_next(a, &e)) == 1) {
		long n;
		(*entries)++;
		while ((n = lks_archive_read(a, buf, sizeof(buf))) > 0) {
			*bytes += (unsigned long long)n;
		}
		rc = n < 0 ? (int)n : 0;
	}
	if (rc < 0) {
		fprintf(stderr, "bench_archive: %s: %s\n", path, lks_errmsg(&ctx, rc));
	}
	lks_archive_close(a);
	if (fd >= 0) {
		close(fd);
	}
	lks_ctx_free(&ctx);
	return rc;
}

static int make_fixtures(char tar[512], char tgz[512])
{
	const char *build = getenv("LKS_BUILDDIR");
	char dir[400];
	snprintf(dir, sizeof(dir), "%s/fixture-cache", build ? build : ".");
	mkdir(dir, 0755);
	snprintf(tar, 512, "%s/bench-share.tar", dir);
	snprintf(tgz, 512, "%s/bench-share.tar.gz", dir);
	if (access(tar, R_OK) == 0 && access(tgz, R_OK) == 0) {
		return 0;
	}
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
	         "tar --sort=name -cf '%s.tmp' -C /usr/share doc man 2>/dev/null; "
	         "gzip -1 -n -c '%s.tmp' > '%s.tmp' && mv '%s.tmp' '%s' && mv '%s.tmp' '%s'",
	         tar, tar, tgz, tgz, tgz, tar, tar);
	return system(cmd) == 0 ? 0 : -1;
}

static int bench_one(const char *path)
{
	double ours[RUNS], peer[RUNS];
	unsigned long long entries = 0, bytes = 0;
	for (int i = 0; i < RUNS; i++) {
		double t0 = self_cpu();
		if (read_all(path, &entries, &bytes) < 0) {
			return 1;
		}
		ours[i] = self_cpu() - t0;
		char cmd[700];
		snprintf(cmd, sizeof(cmd), "tar -xOf '%s' > /dev/null", path);
		double c0 = children_cpu();
		if (system(cmd) != 0) {
			fprintf(stderr, "bench_archive: '%s' failed\n", cmd);
			return 1;
		}
		peer[i] = children_cpu() - c0;
	}
	qsort(ours, RUNS, sizeof(double), cmp_double);
	qsort(peer, RUNS, sizeof(double), cmp_double);
	double o = ours[RUNS / 2], p = peer[RUNS / 2];
	printf("archive %s: %llu entries, %.0f MB data: lockstep %.2f s CPU (%.0f MB/s), "
	       "GNU tar -xO %.2f s CPU; ratio %.2f\n",
	       strrchr(path, '/') ? strrchr(path, '/') + 1 : path, entries, (double)bytes / 1e6, o,
	       (double)bytes / 1e6 / (o > 0 ? o : 1e-9), p, p > 0 ? o / p : 0.0);
	return 0;
}

int main(int argc, char **argv)
{
	char tar[512], tgz[512];
	if (argc > 1) {
		for (int i = 1; i < argc; i++) {
			if (bench_one(argv[i])) {
				return 1;
			}
		}
		return 0;
	}
	if (make_fixtures(tar, tgz) < 0) {
		fprintf(stderr, "bench_archive: cannot build the fixture tars\n");
		return 77;
	}
	return bench_one(tar) || bench_one(tgz);
}
