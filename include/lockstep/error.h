/* lockstep error codes.
 *
 * Every library function that can fail returns an int: 0 on success, a negative value on
 * failure. The value is either -errno (from the C library) or -LKS_E_* from the enum below.
 * A human-readable detail for the last failure is kept in the ctx (see ctx.h).
 */
#pragma once

enum lks_err {
	LKS_OK = 0,
	LKS_E_BASE = 1000,  /* keep clear of errno values */
	LKS_E_INVAL,        /* invalid argument or input */
	LKS_E_PARSE,        /* malformed input (Dockerfile, JSON, index ...) */
	LKS_E_NET,          /* transport failure (connect, TLS, reset) */
	LKS_E_TIMEOUT,      /* transfer timed out */
	LKS_E_HTTP,         /* unexpected HTTP status */
	LKS_E_AUTH,         /* authentication failed or credentials missing */
	LKS_E_NOTFOUND,     /* tag, package, blob, file not found */
	LKS_E_DIGEST,       /* content does not match its digest */
	LKS_E_TOOBIG,       /* a size, count or depth cap was exceeded */
	LKS_E_ARCHIVE,      /* archive or compression error */
	LKS_E_UNSAFE,       /* hostile content: path escape, bomb ... */
	LKS_E_DB,           /* cache database error */
	LKS_E_CRYPTO,       /* OpenSSL failure */
	LKS_E_VERSION,      /* unsupported format or schema version */
	LKS_E_OFFLINE,      /* answer needed from the network but running offline */
	LKS_E_UNSUPPORTED,  /* valid but not supported input */
	LKS_E_CONFLICT,     /* unsatisfiable constraints */
	LKS_E_CHILD,        /* a child process failed */
	LKS_E_MAX
};

/* Static description of an error code (negative or positive accepted). Never NULL. */
const char *lks_strerror(int err);
