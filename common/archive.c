/* Placeholder until the libarchive reader lands. */
#include "lockstep/archive.h"
