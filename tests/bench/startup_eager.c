/* Peer for check_bench.py: a program that does nothing but is linked the way lockstep was before
 * libcurl and libarchive were loaded on first use (common/dynlib.h): its start-up is exec plus
 * loading and relocating libcurl, libarchive, libcrypto, jansson, sqlite3 and their dependencies.
 * Each library is called once so that --as-needed keeps it. */
#include <archive.h>
#include <curl/curl.h>
#include <jansson.h>
#include <openssl/crypto.h>
#include <sqlite3.h>

int main(int argc, char **argv)
{
	if (argc > 1) { /* never taken by the benchmark: only here to use each library */
		return curl_version() && archive_version_number() && OpenSSL_version_num() &&
		       jansson_version_str() && sqlite3_libversion_number();
	}
	return 0;
}
