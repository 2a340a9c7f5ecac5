/* The image kind (pin_kind_images, pinner/images/images.c): image references of Dockerfiles
 * (FROM, COPY/ADD --from, RUN --mount from=).
 *
 * check (offline): unpinned references, references whose ARG has no default, pins that
 * disagree with or are missing from the lock, and (warnings) ARG-dependent references whose
 * build-arg override no longer changes the image. Malformed Dockerfiles and invalid references
 * fail with a negative error.
 *
 * pin: every reference is resolved through the registry client (with the sqlite cache in
 * front); the edit appending (or replacing) the digest is recorded on the workspace's model of
 * the file, which then says what the file will say (apt and python read the pinned base
 * there), and the lock's image entries of these files are replaced, one change per reference
 * in the report (kind "image"). References that cannot be expanded are findings, left alone.
 *
 * Update mode: a reference pinned with a tag and selected by lks_update_verdict moves to the
 * digest its tag points to now, unless that digest was published (config `created`, else
 * first seen by lockstep) within the cooldown (a warning "image-cooldown" says so); the change
 * carries `previous` and both published times. A tag that no longer exists fails the run
 * (-LKS_E_NOTFOUND, naming it and the way out) unless a policy rule holds or ignores it.
 *
 * latest (outdated): whether the tag of each image pin still points at the pinned digest, or
 * the newer digest, its `created` and since when the pin is behind (the new config's created
 * when it is after the pinned image's, else when lockstep first saw the new digest under the
 * tag, recorded in the cache). Tag resolutions younger than max_age seconds come from the
 * cache; the rest are fetched in one parallel batch and cached. A deleted tag is VANISHED, a
 * cache miss offline UNKNOWN; other registry failures fail the call.
 */
#pragma once

struct lks_oci_ref;

/* The names users know an image by, for policy rules and --package: full and familiar
 * reference without the digest, then full and familiar name ("docker.io/library/python:3.12",
 * "python:3.12", "docker.io/library/python", "python"); entries may be NULL when the reference
 * has no tag. Free with lks_images_names_free. */
#define LKS_IMAGE_NAMES 4
int lks_images_names(const struct lks_oci_ref *ref, char *names[LKS_IMAGE_NAMES]);
void lks_images_names_free(char *names[LKS_IMAGE_NAMES]);
