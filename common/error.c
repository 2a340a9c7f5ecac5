#include <string.h>
#include "lockstep/error.h"

static const char *const names[LKS_E_MAX - LKS_E_BASE] = {
	[0] = "unknown error",
	[LKS_E_INVAL - LKS_E_BASE] = "invalid argument",
	[LKS_E_PARSE - LKS_E_BASE] = "malformed input",
	[LKS_E_NET - LKS_E_BASE] = "network error",
	[LKS_E_TIMEOUT - LKS_E_BASE] = "timed out",
	[LKS_E_HTTP - LKS_E_BASE] = "unexpected HTTP status",
	[LKS_E_AUTH - LKS_E_BASE] = "authentication failed",
	[LKS_E_NOTFOUND - LKS_E_BASE] = "not found",
	[LKS_E_DIGEST - LKS_E_BASE] = "digest mismatch",
	[LKS_E_TOOBIG - LKS_E_BASE] = "size limit exceeded",
	[LKS_E_ARCHIVE - LKS_E_BASE] = "archive error",
	[LKS_E_UNSAFE - LKS_E_BASE] = "unsafe content",
	[LKS_E_DB - LKS_E_BASE] = "cache database error",
	[LKS_E_CRYPTO - LKS_E_BASE] = "cryptography error",
	[LKS_E_VERSION - LKS_E_BASE] = "unsupported format version",
	[LKS_E_OFFLINE - LKS_E_BASE] = "not available offline",
	[LKS_E_UNSUPPORTED - LKS_E_BASE] = "not supported",
	[LKS_E_CONFLICT - LKS_E_BASE] = "conflicting requirements",
	[LKS_E_CHILD - LKS_E_BASE] = "child process failed",
};

const char *lks_strerror(int err)
{
	if (err < 0) {
		err = -err;
	}
	if (err == 0) {
		return "success";
	}
	if (err > LKS_E_BASE && err < LKS_E_MAX && names[err - LKS_E_BASE]) {
		return names[err - LKS_E_BASE];
	}
	if (err < LKS_E_BASE) {
		return strerror(err);
	}
	return names[0];
}
