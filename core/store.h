/*
 * store.h — the file operations under animo's token store. Lua-free.
 *
 * The store is one JSON document (its shape is the Lua layer's business).
 * This layer guarantees how it sits on disk:
 *   - the file is private: mode 0600, owned by the user, never a symlink;
 *     folders it creates are 0700, whatever the umask;
 *   - a change replaces the file atomically (temp file in the same folder,
 *     written fully, fsync, rename, fsync of the folder), so a reader never
 *     sees a torn file and needs no lock;
 *   - writers serialise on an flock of a separate lock file that is never
 *     renamed, with a bounded wait.
 * Every function returns 0 on success or -1 with a message in `err`.
 */
#ifndef ANIMO_STORE_H
#define ANIMO_STORE_H

#include <stddef.h>

#define AS_ERR_SIZE 512
#define AS_MAX_SIZE (16 * 1024 * 1024) /* a larger store is refused */

/* Reads the store at `path` into a malloc'd buffer (*data, *len; the caller
 * frees it). A missing file is not an error: *data is NULL. Refuses a
 * symlink, a non-regular file, one owned by another user or readable by
 * others (the message gives the chmod fix). */
int as_read(const char *path, char **data, size_t *len, char *err);

/* Takes the exclusive lock for the store at `path` (lock file path.lock,
 * 0600), waiting at most `wait_ms`; creates the folder of `path` and its
 * missing parents (new ones 0700) when needed. On success *fd holds the
 * lock. Returns 1 (with a message) when another process still holds it
 * after the wait. */
int as_lock(const char *path, long wait_ms, int *fd, char *err);

/* Releases a lock taken by as_lock. */
void as_unlock(int fd);

/* Notes: lines kept in the lock file (attach intents noted before a request
 * is sent), written without fsync: they survive a killed process, and a
 * power cut may lose them but never harms the store. With the lock held
 * (`fd` from as_lock), as_note appends `len` bytes and as_clear_notes
 * empties the file but for a header naming the notes to come,
 * {"notes":"<16 hex digits>"} and a newline (animo.store reads it; as_note
 * writes one first in an empty file). as_read_notes reads them like
 * as_read, through `fd` when the lock is held, else (fd -1) by opening the
 * lock file; then a file a writer empties meanwhile is read short, not an
 * error. */
int as_note(int fd, const char *data, size_t len, char *err);
int as_clear_notes(int fd, char *err);
int as_read_notes(const char *path, int fd, char **data, size_t *len, char *err);

/* Replaces the store at `path` with `len` bytes of `data`, atomically and
 * durably. Call with the lock held. With `sweep`, first removes the temp
 * files that writers killed mid-write left behind (once per process is
 * enough). On failure the old file is untouched. */
int as_replace(const char *path, const char *data, size_t len, int sweep, char *err);

/* Whether a store of `len` bytes could be saved at `path` now: its folder
 * writable, the file size limit and the free space large enough. Checked
 * before an attach is sent, without touching the disk. */
int as_check_room(const char *path, size_t len, char *err);

#endif
